import { describe, expect, it } from "vitest";
import { harness } from "./support";

describe("two Workers (isolates) sharing one KV namespace", () => {
  it("log in once between them when both cron ticks fire at the same moment", async () => {
    // a settle wait well above scheduling jitter on a loaded machine, so the test is about the design
    const h = await harness({ worker: { leaseSettleMs: 200 } });
    const second = h.another();
    await Promise.all([h.tick(), h.tick(second)]);
    const counts = h.emu.counts();
    expect(counts["POST /gw/api/v1/sso-sessions"]).toBe(1);
    expect(counts["POST /v1/api/iserver/auth/ssodh/init"]).toBe(1);
    expect(h.logs.some((l) => l.includes("another isolate is logging in"))).toBe(true);

    // the loser adopts the winner's session on its next tick: a tickle, no login
    h.emu.advance(60_000);
    await h.tick(second);
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(1);
    expect(h.emu.counts()["POST /v1/api/tickle"]).toBe(1);
  });

  it("serve the proxy from the session the other isolate's cron opened", async () => {
    const h = await harness();
    const cronIsolate = h.another();
    const proxyIsolate = h.another();
    await h.tick(cronIsolate);
    const res = await h.api("/v1/api/iserver/accounts", {}, proxyIsolate);
    expect(res.status).toBe(200);
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(1);
  });

  it("do not both heal when the bearer dies under a burst of proxied requests", async () => {
    const h = await harness({ worker: { leaseSettleMs: 200 } });
    const a = h.another();
    const b = h.another();
    await h.tick(a);
    await h.api("/v1/api/iserver/accounts", {}, b); // b caches the record
    h.emu.expireBearers();
    const answers = await Promise.all([
      ...Array.from({ length: 4 }, () => h.api("/v1/api/iserver/accounts", {}, a)),
      ...Array.from({ length: 4 }, () => h.api("/v1/api/iserver/accounts", {}, b)),
    ]);
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(2); // the login and exactly one heal
    // the winner's callers got answers; the isolate that lost the lease passed IBKR's 401 through, or its
    // caller met the Worker's login brake (one caller-caused login a minute: 429 from the Worker, not IBKR)
    expect(answers.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(4);
    expect(answers.map((r) => r.status).filter((s) => s !== 200 && s !== 401 && s !== 429)).toEqual([]);
    expect(h.emu.requests.filter((r) => r.status === 429)).toEqual([]);
  });
});
