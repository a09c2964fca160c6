import { IBAuth } from "@ibauth/core";
import { describe, expect, it } from "vitest";
import { rejection, testBed } from "./fixture";

const TICKLE = "/v1/api/tickle";
const LOGOUT = "/v1/api/logout";
const DATA = "/v1/api/iserver/accounts";

describe("answers the core reads for its own steps", () => {
  it("refuses one larger than 64 KiB with a typed error, without reading it all", async () => {
    const bed = await testBed();
    const huge = `{"access_token":"${"x".repeat(70 * 1024)}"}`;
    bed.emu.failNext({ path: "/oauth2/api/v1/token", count: 5, status: 200, body: huge });
    const e = await rejection(bed.auth.connect());
    expect(e.code).toBe("ERR_PROTOCOL");
    expect(e.step).toBe("token");
    expect(e.message).toContain("64 KiB");
    expect(e.hint).toMatch(/proxy/);
  });

  it("takes null fields in tickle and validate answers as absent", async () => {
    const bed = await testBed();
    await bed.auth.connect();
    bed.emu.failNext({
      path: TICKLE,
      status: 200,
      body: {
        session: "0123456789abcdef0123456789abcdef",
        ssoExpires: null,
        userId: null,
        error: null,
        iserver: { authStatus: { authenticated: true, competing: null, connected: true, message: null } },
      },
    });
    const t = await bed.auth.tickle();
    expect(t).toMatchObject({ authenticated: true, competing: false, connected: true, ssoExpires: 0 });
    expect(t).not.toHaveProperty("userId");
    bed.emu.failNext({
      path: "/v1/api/sso/validate",
      status: 200,
      body: { RESULT: true, USER_ID: null, EXPIRES: 400000, LOGIN_TYPE: null, PAPER_USER_NAME: null },
    });
    expect(await bed.auth.validateSso()).toEqual({ valid: true, expiresMs: 400000 });
  });

  it("counts any 2xx logout as done: empty and non-JSON bodies", async () => {
    for (const body of ["", "OK"]) {
      const bed = await testBed();
      await bed.auth.connect();
      bed.emu.failNext({ path: LOGOUT, status: 200, body });
      await bed.auth.logout();
      expect(bed.auth.status().state).toBe("closed");
    }
  });
});

describe("validate before blaming the IP", () => {
  it("init refusing a fresh bearer twice, with validate fine in between: ERR_AUTH that clears the IP claim", async () => {
    const bed = await testBed();
    bed.emu.failNext({ path: "/v1/api/iserver/auth/ssodh/init", count: 2, status: 401 });
    const e = await rejection(bed.auth.connect());
    expect(e.code).toBe("ERR_AUTH");
    expect(e.step).toBe("init");
    expect(e.message).toMatch(/accepts the SSO session but refuses a brokerage session/);
    expect(e.hint).toMatch(/not the cause/);
    expect(bed.emu.counts()["GET /v1/api/sso/validate"]).toBe(1);
    expect(bed.emu.counts()["POST /v1/api/iserver/auth/ssodh/init"]).toBe(2);
  });
});

describe("redirects to IBKR's login page", () => {
  const toLogin = { status: 302, body: "", headers: { location: "/sso/Login?forwardTo=22&RL=1" } };

  it("a tickle redirected to /sso/Login is a refused session: tick() logs in again", async () => {
    const bed = await testBed();
    await bed.auth.connect();
    bed.emu.failNext({ path: TICKLE, ...toLogin });
    expect((await bed.auth.tick()).action).toBe("relogin");
    expect(bed.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(2);
  });

  it("auth.fetch redirected to /sso/Login heals like a 401 and replays the call", async () => {
    const bed = await testBed();
    await bed.auth.connect();
    bed.emu.expireBearers();
    bed.emu.failNext({ path: DATA, ...toLogin });
    const res = await bed.auth.fetch(DATA);
    expect(res.status).toBe(200);
    expect(bed.emu.counts()[`GET ${DATA}`]).toBe(2);
  });

  it("a redirect at a login step is ERR_SESSION naming the redirect", async () => {
    const bed = await testBed();
    bed.emu.failNext({ path: "/gw/api/v1/sso-sessions", count: 5, ...toLogin });
    const e = await rejection(bed.auth.connect());
    expect(e.code).toBe("ERR_SESSION");
    expect(e.step).toBe("bearer");
    expect(e.status).toBe(302);
    expect(e.message).toMatch(/redirected/);
  });
});

describe("auth.fetch sends what fetch would", () => {
  it("an unlabelled string body keeps fetch's text/plain; a labelled one keeps its label", async () => {
    const bed = await testBed();
    const seen: (string | null)[] = [];
    const auth = new IBAuth({
      ...bed.options,
      fetch: async (input, init) => {
        if (String(input).endsWith("/iserver/accounts"))
          seen.push(new Headers(init?.headers).get("content-type"));
        return bed.emu.fetch(input, init);
      },
    });
    await auth.connect();
    await auth.fetch(DATA, { method: "POST", body: "plain" });
    await auth.fetch(DATA, { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } });
    expect(seen).toEqual(["text/plain;charset=UTF-8", "application/json"]);
  });
});

describe("timeouts and aborts through ofetch", () => {
  it("auth.fetch with a caller's signal: IBKR silent past timeoutMs is ERR_TIMEOUT, the caller's abort is ERR_ABORTED", async () => {
    const bed = await testBed({ auth: { timeoutMs: 200 } });
    await bed.auth.connect();
    bed.emu.failNext({ path: DATA, kind: "hang" });
    const timedOut = await rejection(bed.auth.fetch(DATA, { signal: new AbortController().signal }));
    expect(timedOut.code).toBe("ERR_TIMEOUT");
    bed.emu.reset();
    const bed2 = await testBed({ auth: { timeoutMs: 10_000 } });
    await bed2.auth.connect();
    bed2.emu.failNext({ path: DATA, kind: "hang" });
    const caller = new AbortController();
    const pending = bed2.auth.fetch(DATA, { signal: caller.signal });
    setTimeout(() => caller.abort(), 50);
    expect((await rejection(pending)).code).toBe("ERR_ABORTED");
    bed2.emu.reset();
  });

  it("a login step without a caller's signal times out with ofetch's timeout: ERR_TIMEOUT", async () => {
    const bed = await testBed({ auth: { timeoutMs: 200, retry: { attempts: 1 } } });
    bed.emu.failNext({ path: "/oauth2/api/v1/token", kind: "hang" });
    const e = await rejection(bed.auth.connect());
    expect(e.code).toBe("ERR_TIMEOUT");
    expect(e.step).toBe("token");
    bed.emu.reset();
  });
});

describe("the bytes of the login", () => {
  it("signs the sso-sessions JWT with exp = iat + ssoLifetimeSec (86 400 by default)", async () => {
    for (const [ssoLifetimeSec, expected] of [
      [undefined, 86_400],
      [3_600, 3_600],
    ] as const) {
      const bed = await testBed();
      const bodies: string[] = [];
      const auth = new IBAuth({
        ...bed.options,
        ...(ssoLifetimeSec ? { ssoLifetimeSec } : {}),
        fetch: async (input, init) => {
          if (String(input).endsWith("/sso-sessions")) bodies.push(String(init?.body));
          return bed.emu.fetch(input, init);
        },
      });
      await auth.connect();
      const payload = JSON.parse(
        atob((bodies[0] ?? "").split(".")[1]?.replace(/-/g, "+").replace(/_/g, "/") ?? ""),
      );
      expect(payload.exp - payload.iat).toBe(expected);
    }
  });

  it("sends the IP lookup before the token request, and signs the sso-sessions JWT while the token is out", async () => {
    const bed = await testBed();
    const started: string[] = [];
    let ssoBody = "";
    const t0 = Math.floor(bed.clock.t / 1000);
    const auth = new IBAuth({
      ...bed.options,
      fetch: async (input, init) => {
        const path = new URL(String(input)).pathname;
        started.push(path);
        if (path.endsWith("/sso-sessions")) ssoBody = String(init?.body);
        const res = await bed.emu.fetch(input, init);
        if (path.endsWith("/token")) {
          // the token's answer "travels" 5 s: a JWT signed after it would say iat = t0 + 5
          await new Promise((r) => setTimeout(r, 100));
          bed.clock.t += 5000;
        }
        return res;
      },
    });
    await auth.connect();
    expect(started.slice(0, 2)).toEqual(["/__emulator/ip", "/oauth2/api/v1/token"]);
    const payload = JSON.parse(atob(ssoBody.split(".")[1]?.replace(/-/g, "+").replace(/_/g, "/") ?? ""));
    expect(payload.iat).toBe(t0);
  });
});
