import { describe, expect, it } from "vitest";
import { harness } from "./support";

describe("healing and operator routes", () => {
  it("the proxy replays once after a 401 from a dead bearer, with a new bearer", async () => {
    const h = await harness();
    await h.tick();
    h.emu.expireBearers();
    const res = await h.api("/v1/api/portfolio/accounts");
    expect(res.status).toBe(200);
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(2);
  });

  it("re-opens the brokerage session after 'no bridge' and replays a POST with its body", async () => {
    const h = await harness();
    await h.tick();
    h.emu.dropBrokerageSession();
    const res = await h.api("/v1/api/iserver/auth/status", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    // /iserver/auth/status itself works without a bridge; /iserver/accounts does not
    expect(res.status).toBe(200);
    const accounts = await h.api("/v1/api/iserver/accounts");
    expect(accounts.status).toBe(200);
    expect(h.emu.counts()["POST /v1/api/iserver/auth/ssodh/init"]).toBe(2);
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(1);
  });

  it("a streamed (large) body is sent once: after 'no bridge' the session heals but IBKR's 400 comes back", async () => {
    const h = await harness();
    const streaming = h.another({ maxReplayBodyBytes: 16 });
    await h.tick(streaming);
    h.emu.dropBrokerageSession();
    const body = JSON.stringify({ padding: "x".repeat(1024) });
    // a POST endpoint of IBKR's (the emulator has no handler for it, but "no bridge" comes first)
    const res = await h.api(
      "/v1/api/iserver/secdef/search",
      {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "content-length": String(body.length) },
      },
      streaming,
    );
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("no bridge");
    expect(h.emu.counts()["POST /v1/api/iserver/auth/ssodh/init"]).toBe(2); // healed for the next request
    expect(h.emu.counts()["POST /v1/api/iserver/secdef/search"]).toBe(1); // not replayed
    expect((await h.api("/v1/api/iserver/accounts", {}, streaming)).status).toBe(200);
  });

  it("waits out IBKR's 'no bridge' right after ssodh/init instead of re-opening the session", async () => {
    // IBKR needs a few seconds after init; the Worker's waits advance the emulator's clock here
    const h = await harness({ emulator: { bridgeDelayMs: 3000 } });
    const worker = h.another({ sleep: async (ms) => void h.emu.advance(ms) });
    await h.tick(worker);
    const res = await h.api("/v1/api/iserver/accounts", {}, worker);
    expect(res.status).toBe(200);
    expect(h.emu.counts()["POST /v1/api/iserver/auth/ssodh/init"]).toBe(1);
    expect(h.emu.counts()["GET /v1/api/iserver/accounts"]).toBe(3); // no bridge at +0 s and +1 s, then 200 at +3 s

    // and after a heal that re-opened it
    h.emu.advance(60_000);
    h.emu.dropBrokerageSession();
    const healed = await h.api("/v1/api/iserver/accounts", {}, worker);
    expect(healed.status).toBe(200);
    expect(h.emu.counts()["POST /v1/api/iserver/auth/ssodh/init"]).toBe(2);
  });

  it("the cron tick heals what the keepalive finds: dead bearer, dropped brokerage session", async () => {
    const h = await harness();
    await h.tick();
    h.emu.advance(60_000);
    h.emu.expireBearers();
    await h.tick();
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(2);
    h.emu.advance(60_000);
    h.emu.dropBrokerageSession();
    await h.tick();
    expect(h.emu.counts()["POST /v1/api/iserver/auth/ssodh/init"]).toBe(3);
    expect((await h.health()).status).toBe(200);
  });

  it("the cron tick logs in again after IBKR's daily reset, and takes back a competing session", async () => {
    const h = await harness();
    await h.tick();
    h.emu.advance(60_000);
    h.emu.triggerDailyReset();
    await h.tick();
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(2);
    h.emu.advance(60_000);
    h.emu.startCompetingSession();
    await h.tick();
    expect(h.emu.counts()["POST /v1/api/iserver/auth/ssodh/init"]).toBe(3);
    h.emu.advance(60_000);
    await h.tick();
    const { status, body } = await h.health();
    expect(status).toBe(200);
    expect(body.state).toBe("connected");
  });

  it("reports the IP-mismatch pattern (401 right after a fresh bearer) in /health and the logs", async () => {
    const h = await harness({ env: { IBKR_IP: "198.51.100.77" } });
    await h.tick();
    const { status, body } = await h.health();
    expect(status).toBe(503);
    expect(body.ipMismatch?.seenBy).toBe("tick");
    expect(body.ipMismatch?.claimedIp).toBe("198.51.100.77");
    expect(body.ipMismatch?.hint).toMatch(/IBKR_ALTERNATIVE_IPS|relay/);
    expect(body.lastError?.status).toBe(401);
    expect(h.logs.some((l) => l.includes('"ipMismatch":true'))).toBe(true);

    // the egress now matches the claim: the next tick recovers and clears the warning
    h.emu.setEgressIp("198.51.100.77");
    h.emu.advance(60_000);
    await h.tick();
    const after = await h.health();
    expect(after.body.ipMismatch).toBeNull();
    expect(after.status).toBe(200);
  });

  it("a proxy 401 on a bearer minted moments ago is flagged as an IP mismatch", async () => {
    const h = await harness({ env: { IBKR_IP: "203.0.113.10" } });
    await h.tick();
    // the egress moves away from the claimed IP: the heal's fresh bearer is refused at once
    h.emu.setEgressIp("192.0.2.99");
    const res = await h.api("/v1/api/portfolio/accounts");
    expect(res.status).toBe(401);
    const { body } = await h.health();
    expect(body.ipMismatch?.seenBy).toBe("proxy");
    expect(body.ipMismatch?.claimedIp).toBe("203.0.113.10");
    expect(h.logs.some((l) => l.includes('"ipMismatch":true'))).toBe(true);
  });

  it("POST /session/logout ends the session and pauses the cron; POST /session/login resumes", async () => {
    const h = await harness();
    await h.tick();
    expect((await h.api("/session/logout")).status).toBe(405);
    const out = await h.api("/session/logout", { method: "POST" });
    expect(out.status).toBe(200);
    expect(h.emu.counts()["POST /v1/api/logout"]).toBe(1);
    expect((await h.health()).body.state).toBe("paused");
    h.emu.advance(60_000);
    await h.tick();
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(1); // paused: no login

    const back = await h.api("/session/login", { method: "POST" });
    expect(back.status).toBe(200);
    expect(((await back.json()) as { status: { state: string } }).status.state).toBe("connected");
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(2);
    expect((await h.health()).status).toBe(200);
  });

  it("operator routes need the API key", async () => {
    const h = await harness();
    expect((await h.call("/session/login", { method: "POST" })).status).toBe(401);
    expect(
      (await h.call("/session/logout", { method: "POST", headers: { authorization: "Bearer nope" } })).status,
    ).toBe(401);
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBeUndefined();
  });
});
