import { IBAuth, memoryStore } from "@ibauth/core";
import { describe, expect, it } from "vitest";
import { CREDENTIAL, ORIGIN, rejection, testBed } from "./fixture";

const BEARER = "POST /gw/api/v1/sso-sessions";
const INIT = "POST /v1/api/iserver/auth/ssodh/init";
const TOKEN = "POST /oauth2/api/v1/token";
const TICKLE = "POST /v1/api/tickle";

describe("connect", () => {
  it("runs the IP lookup in parallel with the token request: three round trips, four requests", async () => {
    const bed = await testBed();
    const events: string[] = [];
    let releaseIp: () => void = () => {};
    const tokenStarted = new Promise<void>((r) => {
      releaseIp = r;
    });
    const auth = new IBAuth({
      ...bed.options,
      fetch: async (input, init) => {
        const path = new URL(String(input)).pathname;
        events.push(`start ${path}`);
        if (path === "/__emulator/ip") {
          // Hold the IP answer until the token request has started (or give up after 2 s: sequential).
          await Promise.race([tokenStarted, new Promise((r) => setTimeout(r, 2000))]);
        }
        if (path.endsWith("/token")) releaseIp();
        const res = await bed.emu.fetch(input, init);
        events.push(`end ${path}`);
        return res;
      },
    });
    await auth.connect();
    expect(events.indexOf("start /oauth2/api/v1/token")).toBeLessThan(events.indexOf("end /__emulator/ip"));
    expect(events.filter((e) => e.startsWith("start"))).toHaveLength(4);
    expect(events.indexOf("start /gw/api/v1/sso-sessions")).toBeGreaterThan(
      events.indexOf("end /__emulator/ip"),
    );
    expect(events.indexOf(`start /v1/api/iserver/auth/ssodh/init`)).toBeGreaterThan(
      events.indexOf("end /gw/api/v1/sso-sessions"),
    );
  });

  it("is idempotent and single-flight", async () => {
    const { auth, emu } = await testBed();
    await Promise.all([auth.connect(), auth.connect(), auth.connect()]);
    await auth.connect();
    expect(emu.counts()[BEARER]).toBe(1);
    expect(emu.counts()[INIT]).toBe(1);
  });

  it("resumes a stored session with zero requests", async () => {
    const store = memoryStore();
    const { auth, emu, options } = await testBed({ auth: { store } });
    await auth.connect();
    const before = emu.requests.length;
    const second = new IBAuth({ ...options, store });
    expect((await second.connect()).state).toBe("connected");
    expect(emu.requests.length).toBe(before);
    expect((await second.fetch("/v1/api/portfolio/accounts")).status).toBe(200);
  });

  it("ignores a stored session of another username", async () => {
    const store = memoryStore();
    const { auth, options } = await testBed({ auth: { store } });
    await auth.connect();
    const other = new IBAuth({ ...options, store, credential: "someoneelse" });
    expect(other.status().state).toBe("idle");
    await expect(other.connect()).rejects.toMatchObject({ code: "ERR_AUTH", step: "bearer", status: 403 });
  });
});

describe("fetch heals", () => {
  it("1,000 concurrent callers meeting a dead bearer cause exactly one new bearer, and all succeed", async () => {
    const { auth, emu } = await testBed();
    await auth.connect();
    emu.expireBearers();
    const results = await Promise.all(
      Array.from({ length: 1000 }, () => auth.fetch("/v1/api/iserver/accounts")),
    );
    expect(results.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    expect(emu.counts()[BEARER]).toBe(2);
    expect(emu.counts()[INIT]).toBe(2);
    expect(emu.counts()[TOKEN]).toBe(1); // the access token was still good
    expect(emu.requests.filter((r) => r.status === 429)).toEqual([]);
  });

  it("'no bridge' heals with ssodh/init alone", async () => {
    const { auth, emu } = await testBed();
    await auth.connect();
    emu.dropBrokerageSession();
    const res = await auth.fetch("/v1/api/iserver/accounts");
    expect(res.status).toBe(200);
    expect(emu.counts()[BEARER]).toBe(1);
    expect(emu.counts()[INIT]).toBe(2);
  });

  it("right after ssodh/init, waits out 'no bridge' (IBKR needs 1-5 s) and retries once instead of re-opening the session", async () => {
    const { auth, emu } = await testBed({ emulator: { bridgeDelayMs: 2500 } });
    await auth.connect();
    const res = await auth.fetch("/v1/api/iserver/accounts");
    expect(res.status).toBe(200);
    expect(emu.counts()[INIT]).toBe(1);
    expect(emu.counts()["GET /v1/api/iserver/accounts"]).toBe(2); // at 0 s, and 3 s after the init
  });

  it("an egress-IP change heals with a new bearer claiming the new IP", async () => {
    const { auth, emu } = await testBed();
    await auth.connect();
    emu.setEgressIp("198.51.100.77");
    expect((await auth.fetch("/v1/api/portfolio/accounts")).status).toBe(200);
    expect(auth.status().ip).toBe("198.51.100.77");
    expect(emu.counts()[BEARER]).toBe(2);
  });

  it("a 401 from one endpoint of a live session returns the 401 without minting a bearer", async () => {
    const { auth, emu } = await testBed();
    await auth.connect();
    emu.failNext({
      path: "/v1/api/portfolio/DU1/summary",
      status: 401,
      body: { error: "Please query /portfolio/accounts first" },
    });
    const res = await auth.fetch("/v1/api/portfolio/DU1/summary");
    expect(res.status).toBe(401);
    expect(emu.counts()[BEARER]).toBe(1);
    expect(emu.counts()[TICKLE]).toBe(1);
  });

  it("says 'IP claim' when IBKR refuses a bearer minted moments ago", async () => {
    const { auth } = await testBed({ auth: { ip: "198.51.100.1" } });
    const e = await rejection(auth.connect());
    expect(e).toMatchObject({ code: "ERR_AUTH", step: "init", status: 401 });
    expect(e.hint).toContain("The ip claim (198.51.100.1)");
    expect(auth.status().lastError?.hint).toContain("ip claim");
  });

  it("buffers a streamed body, so it has a Content-Length and can be replayed after a heal", async () => {
    const { auth, emu, clock } = await testBed();
    await auth.connect();
    clock.t += 10_000; // past the settling seconds after ssodh/init: "no bridge" now means the session is gone
    emu.dropBrokerageSession();
    const body = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("{}"));
        c.close();
      },
    });
    // An order-placing path the emulator does not model: after the heal the replay reaches routing (404),
    // neither refused for its length (411) nor for the lost bridge (400).
    const res = await auth.fetch("/v1/api/iserver/account/DU1/orders", { method: "POST", body });
    expect(res.status).toBe(404);
    expect(emu.counts()[INIT]).toBe(2);
    expect(emu.counts()["POST /v1/api/iserver/account/DU1/orders"]).toBe(2);
  });

  it("sends the bearer only to the configured origin", async () => {
    const { auth, emu } = await testBed();
    for (const bad of [
      "https://evil.example/v1/api/x",
      "//evil.example/v1/api/x",
      "http://127.0.0.1:1.evil.example/x",
    ]) {
      await expect(auth.fetch(bad)).rejects.toMatchObject({ code: "ERR_CONFIG", field: "path" });
    }
    expect(emu.requests).toEqual([]);
  });

  it("sends the same path to each instance's own origin (checked URLs are remembered per origin)", async () => {
    const ACCOUNTS = "/v1/api/iserver/accounts";
    const first = await testBed();
    await first.auth.fetch(ACCOUNTS);
    // a second origin, relayed to the same emulator: what matters is where each request was addressed
    const other = "http://127.0.0.2:1";
    const seen: string[] = [];
    const second = new IBAuth({
      ...first.options,
      baseUrl: other,
      ipLookupUrl: `${other}/__emulator/ip`,
      fetch: (input, init) => {
        seen.push(String(input));
        return first.emu.fetch(String(input).replace(other, ORIGIN), init);
      },
    });
    await second.fetch(ACCOUNTS);
    expect(seen.filter((url) => url.endsWith(ACCOUNTS))).toEqual([`${other}${ACCOUNTS}`]);
  });
});

describe("tick", () => {
  it("logs in, then tickles, then re-inits after a competing login, then re-logs in after expiry", async () => {
    const { auth, emu, clock } = await testBed();
    expect((await auth.tick()).action).toBe("login");
    clock.t += 60_000;
    expect((await auth.tick()).action).toBe("tickled");
    emu.startCompetingSession();
    clock.t += 60_000;
    expect((await auth.tick()).action).toBe("reinit");
    emu.expireBearers();
    clock.t += 60_000;
    expect((await auth.tick()).action).toBe("relogin");
    clock.t += 60_000;
    expect((await auth.tick()).action).toBe("tickled");
    expect(emu.counts()[BEARER]).toBe(2);
  });

  it("with compete: false, leaves another platform's session alone and says how to fix it", async () => {
    const { auth, emu, clock } = await testBed({ auth: { compete: false } });
    await auth.tick();
    emu.startCompetingSession();
    clock.t += 60_000;
    const e = await rejection(auth.tick());
    expect(e).toMatchObject({ code: "ERR_SESSION", step: "tickle" });
    expect(e.hint).toContain("second username");
    expect(emu.counts()[INIT]).toBe(1);
  });

  it("refreshes the access token before it expires, without a new bearer", async () => {
    // 10-minute tokens: with the 5-minute margin, a tick every minute renews each at about half-life.
    const { auth, emu, clock } = await testBed({ emulator: { accessTokenTtlSec: 600 } });
    for (let minute = 0; minute <= 12; minute++) {
      await auth.tick();
      expect(auth.status().accessTokenExpiresAt as number).toBeGreaterThan(clock.t + 4 * 60_000);
      clock.t += 60_000;
    }
    expect(emu.counts()[TOKEN]).toBe(3);
    expect(emu.counts()[BEARER]).toBe(1);
  });

  it("after a 429, sends nothing until Retry-After has passed", async () => {
    const { auth, emu, clock } = await testBed();
    await auth.tick();
    clock.t += 60_000;
    emu.failNext({
      path: "/v1/api/tickle",
      status: 429,
      headers: { "Retry-After": "30" },
      body: { error: "Too many requests" },
    });
    const e = await rejection(auth.tick());
    expect(e).toMatchObject({ code: "ERR_RATE_LIMITED", step: "tickle", status: 429, retryAfterMs: 30_000 });
    const sent = emu.requests.length;
    clock.t += 20_000;
    expect(await rejection(auth.tick())).toMatchObject({ code: "ERR_RATE_LIMITED", retryAfterMs: 10_000 });
    expect(await rejection(auth.fetch("/v1/api/iserver/accounts"))).toMatchObject({
      code: "ERR_RATE_LIMITED",
    });
    expect(emu.requests.length).toBe(sent);
    clock.t += 10_000;
    expect((await auth.tick()).action).toBe("tickled");
    expect(auth.status().counters.rateLimited).toBe(3);
  });
});

describe("errors that say what to do", () => {
  it("a username IBKR does not know: ERR_AUTH at the bearer step with the paper/live hint", async () => {
    const { auth } = await testBed({ auth: { credential: "liveuser-on-paper" } });
    const e = await rejection(auth.connect());
    expect(e).toMatchObject({ code: "ERR_AUTH", step: "bearer", status: 403 });
    expect(e.hint).toContain("paper-trading username");
  });

  it("a thrown failure is not also logged as a warning; each failed attempt logs one 'degraded' line with its cause", async () => {
    const { auth, logger, clock } = await testBed({ auth: { credential: "liveuser-on-paper" } });
    await rejection(auth.tick());
    clock.t += 60_000;
    await rejection(auth.tick());
    expect(logger.lines.filter((l) => l.startsWith("warn") || l.startsWith("error"))).toEqual([]);
    const degraded = logger.lines.filter((l) => l.startsWith("info session degraded"));
    expect(degraded).toHaveLength(2);
    for (const line of degraded) expect(line).toContain('"code":"ERR_AUTH","step":"bearer"');
  });

  it("a key IBKR does not have: ERR_AUTH at the token step naming client_key_id and activation delay", async () => {
    const { auth } = await testBed({ auth: { clientKeyId: "second" } });
    const e = await rejection(auth.connect());
    expect(e).toMatchObject({ code: "ERR_AUTH", step: "token" });
    expect(e.hint).toContain("client_key_id");
    expect(e.hint).toContain("next business day");
  });

  it("retries a transient 500 at ssodh/init and succeeds", async () => {
    const { auth, emu } = await testBed();
    emu.failNext({
      path: "/v1/api/iserver/auth/ssodh/init",
      status: 500,
      body: { error: "failed to generate sso dh token" },
    });
    expect((await auth.connect()).state).toBe("connected");
    expect(emu.counts()[INIT]).toBe(2);
  });
});

describe("logout", () => {
  it("ends the session, clears the store, and a later connect logs in again", async () => {
    const store = memoryStore();
    const { auth, emu } = await testBed({ auth: { store } });
    await auth.connect();
    await auth.logout();
    expect(auth.status().state).toBe("closed");
    expect(await store.get()).toBeUndefined();
    expect(emu.counts()["POST /v1/api/logout"]).toBe(1);
    expect((await auth.tick()).action).toBe("skipped");
    await auth.connect();
    expect(emu.counts()[BEARER]).toBe(2);
  });
});

describe("secrets", () => {
  it("never reach logs (debug), status, errors or JSON", async () => {
    const { auth, keys, logger, emu, clock } = await testBed();
    const access = await auth.getAccessToken();
    await auth.connect();
    const bearer = await auth.getBearerToken();
    await auth.ssodhInit();
    const tickle = await auth.tickle();
    clock.t += 60_000;
    emu.expireBearers();
    await auth.fetch("/v1/api/iserver/accounts");
    emu.failNext({ path: "/v1/api/tickle", status: 500, body: { error: `echo ${bearer} ${CREDENTIAL}` } });
    clock.t += 60_000;
    const err = await rejection(auth.tick());
    const bad = await rejection(
      new IBAuth({ ...(await testBed()).options, credential: "nobody-canary" }).connect(),
    );
    const surfaces = [
      ...logger.lines,
      JSON.stringify(auth.status()),
      JSON.stringify(auth),
      JSON.stringify(err),
      String(err),
      err.stack ?? "",
      JSON.stringify(bad),
      String(bad),
    ].join("\n");
    const pemBody = keys.privateKeyPem.split("\n").slice(1, -2).join("");
    for (const secret of [
      access,
      bearer,
      CREDENTIAL,
      "nobody-canary",
      tickle.session,
      pemBody.slice(0, 40),
      "eyJ",
    ]) {
      expect(surfaces).not.toContain(secret);
    }
    expect(err.ibkrMessage).toBe("echo [redacted] [redacted]");
  });
});
