import { describe, expect, it } from "vitest";
import { rig, testClock } from "./helpers.js";

describe("pacing (50 in any rolling second per user, IBKR's endpoint table, penalty box)", () => {
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
    expect((await r.api("/iserver/auth/status", bearer, { ip: "198.51.100.9" })).status).toBe(200);
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

  it("a wrong method is 405 before pacing: it neither takes a slot nor is refused as 429", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const bearer = await r.bearer();
    const post = () => r.api("/sso/validate", bearer, { method: "POST" }).then((res) => res.status);
    expect(await post()).toBe(405);
    // the POST took no /sso/validate slot (1 per minute): the GET right after it is served
    expect((await r.api("/sso/validate", bearer)).status).toBe(200);
    // with the slot now taken, a POST is still 405, and does not put the IP in the penalty box
    expect(await post()).toBe(405);
    clock.add(1000);
    expect((await r.api("/tickle", bearer)).status).toBe(200);
    expect((await r.api("/tickle", bearer, { method: "PUT" })).status).toBe(405);
  });

  it("50 arrivals in ANY rolling second (no burst on top): the strict window", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, rateLimits: { penaltyMs: 100 } });
    const bearer = await r.bearer();
    const status = (path = "/iserver/auth/status") => r.api(path, bearer).then((res) => res.status);
    for (let i = 0; i < 50; i++) expect(await status()).toBe(200);
    expect(await status()).toBe(429);
    // half a second on: a token bucket would have 25 back; the window still holds all 50
    clock.add(500);
    expect(await status()).toBe(429);
    // the first 50 arrived at t=0 and leave the window at t=1000
    clock.add(500);
    for (let i = 0; i < 50; i++) expect(await status()).toBe(200);
    expect(await status()).toBe(429);
  });

  it("the token bucket stays available as an explicit option, and lets a second burst through", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, rateLimits: { penaltyMs: 100, model: "token-bucket" } });
    const bearer = await r.bearer();
    for (let i = 0; i < 50; i++) expect((await r.api("/iserver/auth/status", bearer)).status).toBe(200);
    clock.add(500); // box open, 25 tokens back: 75 in one second, which IBKR does not promise
    for (let i = 0; i < 25; i++) expect((await r.api("/iserver/auth/status", bearer)).status).toBe(200);
    expect((await r.api("/iserver/auth/status", bearer)).status).toBe(429);
  });

  it("IBKR's endpoint table: /portfolio/accounts 1 per 5 s, /fyi/* 1/s as a prefix", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, rateLimits: { penaltyMs: 1 } });
    const bearer = await r.bearer();
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(200);
    clock.add(4999);
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(429);
    clock.add(1);
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(200);
    expect((await r.api("/fyi/unreadnumber", bearer)).status).toBe(404);
    clock.add(1); // box open; a second /fyi/ path within the second shares the window
    expect((await r.api("/fyi/settings", bearer)).status).toBe(429);
    clock.add(1000);
    expect((await r.api("/fyi/settings", bearer)).status).toBe(404);
  });

  it("/iserver/marketdata/history: at most 5 in flight", async () => {
    const r = await rig({ rateLimits: { penaltyMs: 1 } });
    const bearer = await r.brokerage();
    const six = await Promise.all(
      Array.from({ length: 6 }, () =>
        r.api("/iserver/marketdata/history?conid=265598&period=5d&bar=1d", bearer),
      ),
    );
    expect(six.map((res) => res.status).sort()).toEqual([200, 200, 200, 200, 200, 429]);
    await new Promise((resolve) => setTimeout(resolve, 5)); // box (1 ms) open, the five answered
    const again = await Promise.all(
      Array.from({ length: 5 }, () => r.api("/iserver/marketdata/history?conid=265598", bearer)),
    );
    expect(again.map((res) => res.status)).toEqual([200, 200, 200, 200, 200]);
  });

  it("the budget is per username: another user is unaffected", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, rateLimits: { userPerSecond: 2, penaltyMs: 0 } });
    const mine = await r.bearer();
    const theirs = await r.bearer({ credential: "otheruser" });
    await r.api("/iserver/auth/status", mine);
    await r.api("/iserver/auth/status", mine);
    expect((await r.api("/iserver/auth/status", mine)).status).toBe(429);
    expect((await r.api("/iserver/auth/status", theirs)).status).toBe(200);
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
