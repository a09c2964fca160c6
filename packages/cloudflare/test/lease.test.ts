import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { acquireLease } from "../src/lease";
import { harness } from "./support";

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("the login lease", () => {
  it("lets exactly one of several simultaneous claimants win, and is free again once released", async () => {
    const key = `test:lease:${crypto.randomUUID()}`;
    const claim = () =>
      acquireLease({
        namespace: env.IBAUTH_SESSIONS,
        key,
        ttlMs: 60_000,
        settleMs: 30,
        now: Date.now,
        sleep,
      });
    const results = await Promise.all([claim(), claim(), claim(), claim()]);
    const winners = results.filter((r) => r.won);
    expect(winners.length).toBe(1);
    expect(results.filter((r) => !r.won).every((r) => !r.won && r.heldUntil > Date.now())).toBe(true);
    expect((await claim()).won).toBe(false);
    const [winner] = winners;
    if (winner?.won) await winner.release();
    expect((await claim()).won).toBe(true);
  });

  it("a held lease stops the proxy from healing (IBKR's 401 passes through) until it expires", async () => {
    const h = await harness();
    await h.tick();
    const sessionKey = h.kv.puts.find((p) => !p.key.endsWith(":lease") && !p.key.endsWith(":status"))?.key;
    // another isolate is in the middle of a login (or crashed during one)
    await h.kv.kv.put(
      `${sessionKey}:lease`,
      JSON.stringify({ owner: "elsewhere", until: h.emu.now() + 60_000 }),
    );
    h.emu.expireBearers();
    const res = await h.api("/v1/api/portfolio/accounts");
    expect(res.status).toBe(401);
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(1);
    expect(h.logs.some((l) => l.includes("another isolate is healing it"))).toBe(true);

    h.emu.advance(61_000); // the lease expires; the next cron tick heals
    await h.tick();
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(2);
    expect((await h.api("/v1/api/portfolio/accounts")).status).toBe(200);
  });
});
