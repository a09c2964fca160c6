import { describe, expect, it } from "vitest";
import { rig, testClock } from "./helpers.js";

type Tickle = { ssoExpires: number; session: string };

describe("session lifetimes on the emulator's clock", () => {
  it("idle timeout (6 min): any /v1/api request resets it; ssoExpires/EXPIRES count down", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const bearer = await r.bearer();
    clock.add(60_000);
    const v = (await (await r.api("/sso/validate", bearer)).json()) as { EXPIRES: number };
    expect(v.EXPIRES).toBe(360_000); // the validate call itself was activity
    clock.add(359_999);
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(200);
    clock.add(120_000);
    expect(((await (await r.api("/tickle", bearer)).json()) as Tickle).ssoExpires).toBe(360_000);
    clock.add(360_000);
    expect((await r.api("/tickle", bearer)).status).toBe(401);
  });

  it("idleTimeoutMs is configurable, and advance() moves the same clock", async () => {
    const r = await rig({ now: testClock().now, idleTimeoutMs: 1000 });
    const bearer = await r.bearer();
    r.emu.advance(999);
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(200);
    r.emu.advance(1000);
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(401);
  });

  it("the session id is 32 hex and stable for the session", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const bearer = await r.bearer();
    const a = ((await (await r.api("/tickle", bearer)).json()) as Tickle).session;
    clock.add(60_000);
    const b = ((await (await r.api("/tickle", bearer)).json()) as Tickle).session;
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(b).toBe(a);
    const other = ((await (await r.api("/tickle", await r.bearer())).json()) as Tickle).session;
    expect(other).not.toBe(a);
  });

  it("24 h cap even with tickles every minute (daily reset off)", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, dailyReset: false });
    const bearer = await r.bearer();
    let last = 200;
    let minutes = 0;
    while (last === 200 && minutes < 1500) {
      clock.add(60_000);
      minutes++;
      last = (await r.api("/tickle", bearer)).status;
    }
    expect(last).toBe(401);
    expect(minutes).toBe(24 * 60);
  });

  it("ssoExpires never promises more than the time left before the cap", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, dailyReset: false, maxSessionMs: 400_000 });
    const bearer = await r.bearer();
    clock.add(100_000);
    expect(((await (await r.api("/tickle", bearer)).json()) as Tickle).ssoExpires).toBe(300_000);
  });

  it("daily reset at hourUtc ends sessions created before it", async () => {
    const clock = testClock(Date.UTC(2026, 10, 27, 4, 58, 0));
    const r = await rig({ now: clock.now });
    const bearer = await r.bearer();
    clock.add(60_000);
    expect((await r.api("/tickle", bearer)).status).toBe(200);
    clock.add(60_000); // 05:00:00 UTC
    expect((await r.api("/tickle", bearer)).status).toBe(401);
    const after = await r.bearer();
    expect((await r.api("/tickle", after)).status).toBe(200);

    const ny = await rig({
      now: testClock(Date.UTC(2026, 10, 27, 3, 59, 30)).now,
      dailyReset: { hourUtc: 4 },
    });
    const b = await ny.bearer();
    ny.emu.advance(30_000);
    expect((await ny.api("/tickle", b)).status).toBe(401);
  });

  it("triggerDailyReset() ends every session now; access tokens survive", async () => {
    const r = await rig({ rateLimits: false });
    const at = await r.accessToken();
    const bearer = await r.brokerage();
    r.emu.triggerDailyReset();
    expect((await r.api("/tickle", bearer)).status).toBe(401);
    expect((await r.sso(await r.ssoJwt(), at)).status).toBe(200);
  });

  it("expireBearers() ends sessions: 401 until a new bearer is fetched", async () => {
    const r = await rig({ rateLimits: false });
    const bearer = await r.brokerage();
    r.emu.expireBearers();
    expect((await r.api("/tickle", bearer)).status).toBe(401);
    const fresh = await r.bearer();
    expect((await r.api("/tickle", fresh)).status).toBe(200);
  });

  it("dropBrokerageSession(): connected but not authenticated, /iserver no bridge, ssodh/init heals", async () => {
    const r = await rig({ rateLimits: false });
    const bearer = await r.brokerage();
    r.emu.dropBrokerageSession();
    const status = await (await r.api("/iserver/auth/status", bearer, { method: "POST" })).json();
    expect(status).toMatchObject({ authenticated: false, competing: false, connected: true });
    expect((await r.api("/iserver/accounts", bearer)).status).toBe(400);
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(200);
    await r.api("/iserver/auth/ssodh/init", bearer, {
      method: "POST",
      body: '{"publish":true,"compete":false}',
    });
    expect((await r.api("/iserver/accounts", bearer)).status).toBe(200);
  });

  it("logout ends the session and frees the brokerage session for another", async () => {
    const r = await rig({ rateLimits: false });
    const first = await r.brokerage();
    expect(await (await r.api("/logout", first, { method: "POST" })).json()).toEqual({ status: true });
    expect((await r.api("/portfolio/accounts", first)).status).toBe(401);
    const second = await r.bearer();
    const init = await r.api("/iserver/auth/ssodh/init", second, {
      method: "POST",
      body: '{"publish":true,"compete":false}',
    });
    expect(await init.json()).toMatchObject({ authenticated: true, competing: false });
  });
});

describe("one brokerage session per username", () => {
  it("startCompetingSession(): our session sees competing, no bridge, until init with compete true", async () => {
    const r = await rig({ rateLimits: false });
    const bearer = await r.brokerage();
    r.emu.startCompetingSession();
    const tickle = (await (await r.api("/tickle", bearer)).json()) as { iserver: { authStatus: object } };
    expect(tickle.iserver.authStatus).toMatchObject({
      authenticated: false,
      competing: true,
      connected: true,
    });
    expect((await r.api("/iserver/accounts", bearer)).status).toBe(400);
    const meek = await r.api("/iserver/auth/ssodh/init", bearer, {
      method: "POST",
      body: '{"publish":true,"compete":false}',
    });
    expect(await meek.json()).toMatchObject({ authenticated: false, competing: true });
    const bold = await r.api("/iserver/auth/ssodh/init", bearer, {
      method: "POST",
      body: '{"publish":true,"compete":true}',
    });
    expect(await bold.json()).toMatchObject({ authenticated: true, competing: false });
    expect((await r.api("/iserver/accounts", bearer)).status).toBe(200);
  });

  it("startCompetingSession(username) touches only that user", async () => {
    const r = await rig({ rateLimits: false });
    const mine = await r.brokerage();
    const theirs = await r.brokerage({ credential: "otheruser" });
    r.emu.startCompetingSession("otheruser");
    expect((await r.api("/iserver/accounts", mine)).status).toBe(200);
    expect((await r.api("/iserver/accounts", theirs)).status).toBe(400);
  });

  it("a second session of the same user takes over with compete true; the first becomes competing", async () => {
    const r = await rig({ rateLimits: false });
    const first = await r.brokerage();
    const second = await r.brokerage();
    const status = await (await r.api("/iserver/auth/status", first, { method: "POST" })).json();
    expect(status).toMatchObject({ authenticated: false, competing: true, connected: true });
    expect((await r.api("/iserver/accounts", first)).status).toBe(400);
    expect((await r.api("/iserver/accounts", second)).status).toBe(200);
  });

  it("when the holder's session dies, its brokerage session goes with it", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, rateLimits: false });
    const first = await r.brokerage();
    clock.add(300_000);
    const second = await r.bearer();
    clock.add(100_000); // first is idle-dead, second is not
    const status = await (await r.api("/iserver/auth/status", second, { method: "POST" })).json();
    expect(status).toMatchObject({ authenticated: false, competing: false });
    expect((await r.api("/tickle", first)).status).toBe(401);
  });
});

describe("bridgeDelayMs", () => {
  it("/iserver/* answers no bridge for bridgeDelayMs after ssodh/init, then works", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, bridgeDelayMs: 3000 });
    const bearer = await r.brokerage();
    expect((await r.api("/iserver/accounts", bearer)).status).toBe(400);
    clock.add(3000);
    expect((await r.api("/iserver/accounts", bearer)).status).toBe(200);
  });
});
