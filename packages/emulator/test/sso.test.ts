import { generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { CLIENT_ID, IP, rig, testClock, USERNAME } from "./helpers.js";

async function detail(res: Response) {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return ((await res.json()) as { detail: string }).detail;
}

describe("POST /gw/api/v1/sso-sessions", () => {
  it("returns {access_token, token_type, active} for application/jwt and text/plain bodies", async () => {
    const r = await rig();
    const at = await r.accessToken();
    const jwt = await r.sso(await r.ssoJwt(), at);
    expect(jwt.status).toBe(200);
    expect(Object.keys(await jwt.json()).sort()).toEqual(["access_token", "active", "token_type"]);
    const text = await r.sso(await r.ssoJwt(), at, { "content-type": "text/plain; charset=utf-8" });
    expect(text.status).toBe(200);
  });

  it("400 for another content type", async () => {
    const r = await rig();
    const res = await r.sso(await r.ssoJwt(), await r.accessToken(), { "content-type": "application/json" });
    expect(res.status).toBe(400);
    expect(await detail(res)).toContain("application/jwt");
  });

  it("401 without a bearer access token, or with an unknown one", async () => {
    const r = await rig();
    expect((await r.sso(await r.ssoJwt(), "", { authorization: "" })).status).toBe(401);
    expect((await r.sso(await r.ssoJwt(), "not-a-token")).status).toBe(401);
  });

  it("tolerates extra spaces after Bearer (IBKR's Postman sends two)", async () => {
    const r = await rig();
    const at = await r.accessToken();
    expect((await r.sso(await r.ssoJwt(), at, { authorization: `Bearer   ${at}` })).status).toBe(200);
  });

  it("401 once the access token expired: by expireAccessTokens() or by its 24 h lifetime", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const at = await r.accessToken();
    r.emu.expireAccessTokens();
    const res = await r.sso(await r.ssoJwt(), at);
    expect(res.status).toBe(401);
    expect(await detail(res)).toContain("expired");

    const at2 = await r.accessToken();
    clock.add(86_399_000);
    expect((await r.sso(await r.ssoJwt(), at2)).status).toBe(200);
    clock.add(1000);
    expect((await r.sso(await r.ssoJwt(), at2)).status).toBe(401);
  });

  it("401 when the access token lacks sso-sessions.write", async () => {
    const r = await rig();
    const res = await r.token({ scope: "echo.read" });
    const { access_token } = (await res.json()) as { access_token: string };
    expect(await detail(await r.sso(await r.ssoJwt(), access_token))).toContain("sso-sessions.write");
  });

  it("401 when the JWT is not signed by the client's key, is expired, or names another issuer", async () => {
    const r = await rig();
    const at = await r.accessToken();
    const { privateKey } = await generateKeyPair("RS256");
    const forged = await new SignJWT({
      iss: CLIENT_ID,
      credential: USERNAME,
      ip: IP,
      iat: r.nowSec(),
      exp: r.nowSec() + 60,
    })
      .setProtectedHeader({ alg: "RS256", kid: "main" })
      .sign(privateKey);
    expect((await r.sso(forged, at)).status).toBe(401);
    expect((await r.sso(await r.ssoJwt({ exp: r.nowSec() - 1 }), at)).status).toBe(401);
    expect((await r.sso(await r.ssoJwt({ iss: "other" }), at)).status).toBe(401);
  });

  it("403 for a credential not registered for the client, without echoing it", async () => {
    const r = await rig();
    const res = await r.sso(await r.ssoJwt({ credential: "liveuser-canary" }), await r.accessToken());
    expect(res.status).toBe(403);
    const text = await detail(res);
    expect(text).toContain("credential");
    expect(text).not.toContain("liveuser-canary");
  });

  it("400 without credential, without ip, or with a malformed ip", async () => {
    const r = await rig();
    const at = await r.accessToken();
    expect((await r.sso(await r.ssoJwt({ credential: undefined }), at)).status).toBe(400);
    const noIp = await r.sso(await r.ssoJwt({ ip: undefined }), at);
    expect(noIp.status).toBe(400);
    expect(await detail(noIp)).toContain("ip");
    expect((await r.sso(await r.ssoJwt({ ip: "undefined" }), at)).status).toBe(400);
    expect((await r.sso(await r.ssoJwt({ ip: "2001:db8::1" }), at)).status).toBe(200);
    expect((await r.sso(await r.ssoJwt({ alternativeIps: "198.51.100.7" }), at)).status).toBe(400);
  });

  it("binds the bearer to ip and alternativeIps: /v1/api from any other IP is 401", async () => {
    const r = await rig();
    const bearer = await r.bearer({ alternativeIps: ["198.51.100.7", "198.51.100.8"] });
    expect((await r.api("/iserver/auth/status", bearer)).status).toBe(200);
    expect((await r.api("/iserver/auth/status", bearer, { ip: "198.51.100.8" })).status).toBe(200);
    const other = await r.api("/iserver/auth/status", bearer, { ip: "192.0.2.99" });
    expect(other.status).toBe(401);
    expect(await other.json()).toEqual({ error: "Unauthorized", statusCode: 401 });
  });

  it("an IP the caller does not have is accepted at sso-sessions and fails later (IBKR-MAIL)", async () => {
    const r = await rig();
    const bearer = await r.bearer({ ip: "192.0.2.55" });
    expect((await r.api("/tickle", bearer)).status).toBe(401);
  });

  it("by default a new bearer leaves the user's earlier bearer valid; revokeEarlierBearers ends it", async () => {
    for (const revoke of [false, true]) {
      const r = await rig({ revokeEarlierBearers: revoke });
      const first = await r.bearer();
      await r.bearer();
      expect((await r.api("/portfolio/accounts", first)).status).toBe(revoke ? 401 : 200);
    }
  });
});

describe("the sso-sessions JWT's lifetime", () => {
  it("accepts exp - iat up to 86 400 s (IBKR's samples) and refuses longer", async () => {
    const r = await rig();
    const at = await r.accessToken();
    const now = r.nowSec();
    expect((await r.sso(await r.ssoJwt({ iat: now, exp: now + 86_400 }), at)).status).toBe(200);
    const long = await r.sso(await r.ssoJwt({ iat: now, exp: now + 86_401 }), at);
    expect(long.status).toBe(401);
    expect(await detail(long)).toContain("lifetime");
  });

  it("ends the session at the JWT's exp: a 600 s JWT gives a bearer that dies after 600 s, a 86 400 s one lives on", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, idleTimeoutMs: 3_600_000, dailyReset: false });
    const short = await r.bearer({ iat: r.nowSec(), exp: r.nowSec() + 600 });
    const long = await r.bearer();
    clock.add(599_000);
    expect((await r.api("/tickle", short)).status).toBe(200);
    clock.add(1000);
    expect((await r.api("/tickle", short)).status).toBe(401);
    expect((await r.api("/tickle", long)).status).toBe(200);
    expect(r.emu.state().sessions.find((s) => s.label === "session-1")?.ended).toBe("sso-jwt-expired");
  });
});

describe("protocol violations in the state snapshot", () => {
  it("records a Content-Type on a bodyless POST, and nothing for zero bytes without one", async () => {
    const r = await rig();
    const bearer = await r.brokerage();
    expect((await r.api("/tickle", bearer, { method: "POST", body: new Uint8Array(0) })).status).toBe(200);
    expect(r.emu.state().violations).toEqual([]);
    // what fetch does with body "": Content-Type text/plain;charset=UTF-8
    expect((await r.api("/logout", bearer, { method: "POST", body: "" })).status).toBe(200);
    expect(r.emu.state().violations).toEqual([
      'POST /v1/api/logout: Content-Type "text/plain;charset=UTF-8" on a request without a body',
    ]);
    r.emu.reset();
    expect(r.emu.state().violations).toEqual([]);
  });
});

describe("GET /v1/api/sso/validate", () => {
  it("is GET only, as in the spec and every sample: POST is 405", async () => {
    const r = await rig({ rateLimits: false }); // validate's 1/min would answer the second call first
    const bearer = await r.bearer();
    expect((await r.api("/sso/validate", bearer)).status).toBe(200);
    expect((await r.api("/sso/validate", bearer, { method: "POST", body: new Uint8Array(0) })).status).toBe(
      405,
    );
  });
});
