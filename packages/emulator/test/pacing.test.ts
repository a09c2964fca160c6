import { describe, expect, it } from "vitest";
import { rig, testClock } from "./helpers.js";

describe("pacing (50 req/s per user, tickle 1/s, validate 1/min, penalty box)", () => {
  it("a second tickle within a second is 429 with Retry-After, and the IP is penalty-boxed for 10 min", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const bearer = await r.bearer();
    expect((await r.api("/tickle", bearer)).status).toBe(200);
    clock.add(999);
    const over = await r.api("/tickle", bearer, { method: "POST" });
    expect(over.status).toBe(429);
    expect(over.headers.get("retry-after")).toBe("600");
    expect(await over.json()).toMatchObject({ statusCode: 429 });
    // every request from that IP, on every path, until the box opens
    clock.add(5000);
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(429);
    const token = await r.token();
    expect(token.status).toBe(429);
    expect(token.headers.get("content-type")).toBe("application/problem+json");
    expect(token.headers.get("retry-after")).toBe("595");
    // another caller IP is not boxed
    const other = await r.bearer({ alternativeIps: ["198.51.100.9"] }).catch((e: Error) => e);
    expect(other).toBeInstanceOf(Error); // the token request came from the boxed IP
    clock.add(595_000);
    expect((await r.api("/tickle", bearer)).status).toBe(401); // boxed long enough to go idle
    expect((await r.token()).status).toBe(200);
  });

  it("the penalty box is per caller IP", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const bearer = await r.bearer({ alternativeIps: ["198.51.100.9"] });
    await r.api("/tickle", bearer);
    expect((await r.api("/tickle", bearer)).status).toBe(429);
    expect((await r.api("/portfolio/accounts", bearer, { ip: "198.51.100.9" })).status).toBe(200);
  });

  it("tickle once a second is fine", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const bearer = await r.bearer();
    for (let i = 0; i < 5; i++) {
      expect((await r.api("/tickle", bearer)).status).toBe(200);
      clock.add(1000);
    }
  });

  it("/sso/validate: 1 per minute", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, rateLimits: { penaltyMs: 1000 } });
    const bearer = await r.bearer();
    expect((await r.api("/sso/validate", bearer)).status).toBe(200);
    clock.add(59_000);
    expect((await r.api("/sso/validate", bearer)).status).toBe(429);
    clock.add(1000); // box (1 s) open, and a minute since the first validate
    expect((await r.api("/sso/validate", bearer)).status).toBe(200);
  });

  it("50 requests per second per username, refilled over the second", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, rateLimits: { penaltyMs: 100 } });
    const bearer = await r.bearer();
    for (let i = 0; i < 50; i++) expect((await r.api("/portfolio/accounts", bearer)).status).toBe(200);
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(429);
    clock.add(100); // box open; 5 tokens back
    for (let i = 0; i < 5; i++) expect((await r.api("/portfolio/accounts", bearer)).status).toBe(200);
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(429);
  });

  it("the budget is per username: another user is unaffected", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, rateLimits: { userPerSecond: 2, penaltyMs: 0 } });
    const mine = await r.bearer();
    const theirs = await r.bearer({ credential: "otheruser" });
    await r.api("/portfolio/accounts", mine);
    await r.api("/portfolio/accounts", mine);
    expect((await r.api("/portfolio/accounts", mine)).status).toBe(429);
    expect((await r.api("/portfolio/accounts", theirs)).status).toBe(200);
  });

  it("custom endpoint limits, and rateLimits: false disables pacing", async () => {
    const clock = testClock();
    const custom = await rig({
      now: clock.now,
      rateLimits: { endpoints: { "/v1/api/portfolio/accounts": { requests: 2, perMs: 10_000 } } },
    });
    const b = await custom.bearer();
    await custom.api("/portfolio/accounts", b);
    await custom.api("/portfolio/accounts", b);
    expect((await custom.api("/portfolio/accounts", b)).status).toBe(429);

    const off = await rig({ now: clock.now, rateLimits: false });
    const bearer = await off.bearer();
    for (let i = 0; i < 60; i++) expect((await off.api("/tickle", bearer)).status).toBe(200);
  });
});
