import { kvStore } from "@ibauth/cloudflare";
import { parseSessionRecord } from "@ibauth/core";
import { describe, expect, it } from "vitest";
import { CANARY, harness, leakSurface } from "./support";

const sessionPut = (puts: { key: string }[]) =>
  puts.filter((p) => !p.key.endsWith(":lease") && !p.key.endsWith(":status") && !p.key.endsWith(":pacing"));

describe("the Worker against the emulator", () => {
  it("logs in from the cron tick, then proxies /v1/api/* with the held bearer", async () => {
    const h = await harness();
    expect((await h.health()).status).toBe(503); // nothing held yet
    expect((await h.api("/v1/api/portfolio/accounts")).status).toBe(503);

    await h.tick();
    const counts = h.emu.counts();
    expect(counts["POST /oauth2/api/v1/token"]).toBe(1);
    expect(counts["POST /gw/api/v1/sso-sessions"]).toBe(1);
    expect(counts["POST /v1/api/iserver/auth/ssodh/init"]).toBe(1);

    const res = await h.api("/v1/api/portfolio/accounts");
    expect(res.status).toBe(200);
    expect(Array.isArray(await res.json())).toBe(true);

    const { status, body } = await h.health();
    expect(status).toBe(200);
    expect(body.state).toBe("connected");
    expect(body.session.present).toBe(true);
    expect(body.session.ip).toBe("203.0.113.10");
    expect(body.reasons).toEqual([]);
  });

  it("passes IBKR's status and body through", async () => {
    const h = await harness();
    await h.tick();
    const res = await h.api("/v1/api/no/such/endpoint");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("Not Found");
    const wrongMethod = await h.api("/v1/api/portfolio/accounts", { method: "DELETE" });
    expect(wrongMethod.status).toBe(405);
  });

  it("keeps the record encrypted at rest: no token, username or client id in KV", async () => {
    const h = await harness();
    await h.tick();
    const [put] = sessionPut(h.kv.puts);
    expect(put).toBeDefined();
    const stored = parseSessionRecord(
      await kvStore(h.kv.kv, { key: put?.key, encryptionKey: h.env.IBAUTH_SESSION_KEY }).get(),
    );
    expect(stored?.bearer?.token.length).toBeGreaterThan(10);
    const raw = (await h.kv.kv.get(put?.key ?? "", "text")) ?? "";
    expect(raw.startsWith("ibauth-aesgcm-v1:")).toBe(true);
    for (const secret of [
      stored?.bearer?.token,
      stored?.accessToken?.token,
      CANARY.credential,
      CANARY.clientId,
    ]) {
      expect(raw).not.toContain(secret);
    }
    // the same plaintext twice still gives two different ciphertexts (random IV per write)
    const key = put?.key ?? "";
    await kvStore(h.kv.kv, { key, encryptionKey: h.env.IBAUTH_SESSION_KEY }).set({
      ...(stored as NonNullable<typeof stored>),
    });
    const again = (await h.kv.kv.get(key, "text")) ?? "";
    expect(again).not.toBe(raw);
  });

  it("writes to KV on change only: a handful of puts over 100 ticks, the session record once", async () => {
    const h = await harness();
    for (let i = 0; i < 100; i++) {
      await h.tick();
      h.emu.advance(60_000);
    }
    const counts = h.emu.counts();
    expect(counts["POST /v1/api/tickle"]).toBeGreaterThanOrEqual(99);
    expect(counts["POST /gw/api/v1/sso-sessions"]).toBe(1);
    const byKind = {
      session: sessionPut(h.kv.puts).length,
      lease: h.kv.puts.filter((p) => p.key.endsWith(":lease")).length,
      status: h.kv.puts.filter((p) => p.key.endsWith(":status")).length,
    };
    // one login (1 lease + 1 record + 1 status), one hourly heartbeat in 100 minutes
    expect(byKind).toEqual({ session: 1, lease: 1, status: 2 });
    expect((await h.health()).status).toBe(200);
  });

  it("a simulated day (1,440 ticks, IBKR's daily reset, the access token's expiry) stays at a few dozen KV writes", async () => {
    const h = await harness({ emulator: { dailyReset: { hourUtc: 5 } } });
    for (let i = 0; i < 1440; i++) {
      await h.tick();
      h.emu.advance(60_000);
    }
    const counts = h.emu.counts();
    expect(counts["POST /gw/api/v1/sso-sessions"]).toBe(2); // the first login and one after the daily reset
    expect(counts["POST /oauth2/api/v1/token"]).toBe(2); // the first and one refresh before the 24 h expiry
    const writes = {
      session: sessionPut(h.kv.puts).length,
      lease: h.kv.puts.filter((p) => p.key.endsWith(":lease")).length + h.kv.deletes.length,
      status: h.kv.puts.filter((p) => p.key.endsWith(":status")).length,
      pacing: h.kv.puts.filter((p) => p.key.endsWith(":pacing")).length,
    };
    console.log("KV writes in a simulated day:", JSON.stringify(writes));
    expect(writes.pacing).toBe(0); // only a penalty or a validate writes it
    expect(writes.session).toBeLessThanOrEqual(3);
    expect(writes.lease).toBeLessThanOrEqual(6);
    expect(writes.status).toBeLessThanOrEqual(26); // hourly heartbeat + a few changes
    expect((await h.health()).status).toBe(200);
  });

  it("never lets a canary secret reach logs, KV keys, KV values or /health", async () => {
    const h = await harness();
    await h.tick();
    await h.api("/v1/api/iserver/accounts");
    h.emu.expireBearers();
    await h.api("/v1/api/iserver/accounts");
    h.emu.advance(60_000);
    await h.tick();
    // every kind of answer the Worker writes itself
    const answers = [
      await h.api("/session/login", { method: "POST" }),
      await h.api("/v1/api/../oauth2/api/v1/token"),
      await h.call("/v1/api/portfolio/accounts", { headers: { authorization: "Bearer wrong" } }),
      await h.api("/session/logout", { method: "POST" }),
      await h.api("/session/login", { method: "POST" }),
    ];
    const bodies = await Promise.all(answers.map((r) => r.text()));
    const health = JSON.stringify((await h.health()).body);
    const key = sessionPut(h.kv.puts)[0]?.key ?? "";
    const stored = parseSessionRecord(
      await kvStore(h.kv.kv, { key, encryptionKey: h.env.IBAUTH_SESSION_KEY }).get(),
    );
    const surface = leakSurface(h, [health, ...bodies]);
    const pemBody = h.privateKeyPem.split("\n")[1] ?? "";
    for (const secret of [
      CANARY.credential,
      CANARY.apiKey,
      h.env.IBAUTH_SESSION_KEY,
      pemBody,
      stored?.bearer?.token,
      stored?.accessToken?.token,
    ]) {
      expect(secret && secret.length > 8).toBe(true);
      expect(surface).not.toContain(secret);
    }
    expect(h.logs.length).toBeGreaterThan(3);
  });
});
