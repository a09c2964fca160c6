import { decodeJwt, decodeProtectedHeader, generateKeyPair, importPKCS8, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { BASE, CLIENT_ID, rig, testClock, UA } from "./helpers.js";

async function problemOf(res: Response) {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return (await res.json()) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    invalidArguments?: unknown;
  };
}

describe("POST /oauth2/api/v1/token", () => {
  it("issues an RS256 access token with iss /token, exp = iat + 86400 and expires_in 86399", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const body = (await (await r.token()).json()) as { access_token: string; expires_in: number };
    expect(decodeProtectedHeader(body.access_token).alg).toBe("RS256");
    const claims = decodeJwt(body.access_token);
    expect(claims).toMatchObject({
      iss: "/token",
      sub: CLIENT_ID,
      scope: "sso-sessions.write",
      iat: clock.now() / 1000,
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(86400);
    expect(body.expires_in).toBe(86399);
  });

  it.each(["grant_type", "client_assertion_type", "client_assertion", "scope"])(
    "400 names a missing %s",
    async (field) => {
      const r = await rig();
      const res = await r.token({ [field]: "" });
      expect(res.status).toBe(400);
      const p = await problemOf(res);
      expect(p).toMatchObject({ type: "/invalid-argument", title: "Bad Request", status: 400 });
      expect(p.detail).toContain(field);
    },
  );

  it("400 on a wrong grant_type or client_assertion_type", async () => {
    const r = await rig();
    expect((await r.token({ grant_type: "authorization_code" })).status).toBe(400);
    expect(
      (await r.token({ client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:saml2-bearer" }))
        .status,
    ).toBe(400);
  });

  it("400 when the body is not a form", async () => {
    const r = await rig();
    const res = await r.emu.fetch(`${BASE}/oauth2/api/v1/token`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": UA },
      body: JSON.stringify({ grant_type: "client_credentials" }),
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).detail).toContain("x-www-form-urlencoded");
  });

  it("401 when the signature is not by the registered key", async () => {
    const r = await rig();
    const { privateKey: other } = await generateKeyPair("RS256");
    const now = r.nowSec();
    const forged = await new SignJWT({
      iss: CLIENT_ID,
      sub: CLIENT_ID,
      aud: "/token",
      iat: now,
      exp: now + 20,
    })
      .setProtectedHeader({ alg: "RS256", kid: "main" })
      .sign(other);
    const res = await r.token({ client_assertion: forged });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("signature");
  });

  it("401 on an unknown kid, and on a missing kid even when the client has one key", async () => {
    const r = await rig();
    const res = await r.token({ client_assertion: await r.assertion({}, { kid: "backup" }) });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("kid");
    const noKid = await new SignJWT({
      iss: CLIENT_ID,
      sub: CLIENT_ID,
      aud: "/token",
      iat: r.nowSec(),
      exp: r.nowSec() + 20,
    })
      .setProtectedHeader({ alg: "RS256" })
      .sign(r.privateKey);
    const missing = await r.token({ client_assertion: noKid });
    expect(missing.status).toBe(401);
    expect((await problemOf(missing)).detail).toContain("needs a kid");
  });

  it("401 when alg is not RS256", async () => {
    const r = await rig();
    const rs384 = await importPKCS8(r.keys.privateKeyPem, "RS384");
    const now = r.nowSec();
    const jws = await new SignJWT({ iss: CLIENT_ID, sub: CLIENT_ID, aud: "/token", iat: now, exp: now + 20 })
      .setProtectedHeader({ alg: "RS384", kid: "main" })
      .sign(rs384);
    const res = await r.token({ client_assertion: jws });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("RS256");
  });

  it("401 when iss is not a registered client, or sub differs from iss", async () => {
    const r = await rig();
    expect(
      (await r.token({ client_assertion: await r.assertion({ iss: "nobody", sub: "nobody" }) })).status,
    ).toBe(401);
    const res = await r.token({ client_assertion: await r.assertion({ sub: "someone-else" }) });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("sub");
  });

  it("401 when client_id in the form differs from the assertion's iss; the same id is fine", async () => {
    const r = await rig();
    expect((await r.token({ client_id: "other-client" })).status).toBe(401);
    expect((await r.token({ client_id: CLIENT_ID })).status).toBe(200);
  });

  it("aud must be exactly /token: not a URL, not an array", async () => {
    const r = await rig();
    expect(
      (await r.token({ client_assertion: await r.assertion({ aud: "https://api.ibkr.com" }) })).status,
    ).toBe(401);
    expect((await r.token({ client_assertion: await r.assertion({ aud: "/gw" }) })).status).toBe(401);
    const url = await r.assertion({ aud: "https://api.ibkr.com/oauth2/api/v1/token", jti: "x1" });
    expect((await r.token({ client_assertion: url })).status).toBe(401);
    const list = await r.assertion({ aud: ["/token"] });
    expect((await r.token({ client_assertion: list })).status).toBe(401);
    expect((await r.token({ client_assertion: await r.assertion({ aud: "/token" }) })).status).toBe(200);
  });

  it("401 on an expired assertion", async () => {
    const r = await rig();
    const res = await r.token({
      client_assertion: await r.assertion({ iat: r.nowSec() - 60, exp: r.nowSec() - 1 }),
    });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("expired");
  });

  it("tolerates 10 s of clock skew on iat (the margin IBKR's samples build in), not more", async () => {
    const r = await rig();
    const ok = await r.assertion({ iat: r.nowSec() + 10, exp: r.nowSec() + 40 });
    expect((await r.token({ client_assertion: ok })).status).toBe(200);
    const ahead = await r.assertion({ iat: r.nowSec() + 11, exp: r.nowSec() + 40 });
    const res = await r.token({ client_assertion: ahead });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("iat");
  });

  it("caps exp - iat at maxAssertionLifetimeSec (600 by default, ibauth 0.0.6's), so IBKR's 30 s and ibind's 70 s pass", async () => {
    const r = await rig();
    const now = r.nowSec();
    for (const [iat, exp] of [
      [now - 10, now + 20],
      [now - 10, now + 60],
      [now, now + 600],
    ] as const)
      expect((await r.token({ client_assertion: await r.assertion({ iat, exp }) })).status).toBe(200);
    const long = await r.token({ client_assertion: await r.assertion({ iat: now, exp: now + 601 }) });
    expect(long.status).toBe(401);
    expect((await problemOf(long)).detail).toContain("lifetime");
    const strict = await rig({ maxAssertionLifetimeSec: 30 });
    const sixty = await strict.assertion({ iat: strict.nowSec(), exp: strict.nowSec() + 60 });
    expect((await strict.token({ client_assertion: sixty })).status).toBe(401);
  });

  it("rejects millisecond timestamps (IBKR wants 10-digit seconds)", async () => {
    const r = await rig();
    const ms = Date.now();
    const res = await r.token({ client_assertion: await r.assertion({ iat: ms, exp: ms + 20_000 }) });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("milliseconds");
  });

  it("requested scopes must be a subset of the client's", async () => {
    const r = await rig();
    expect((await r.token({ scope: "sso-sessions.write sso-sessions.read" })).status).toBe(200);
    expect((await r.token({ scope: "  " })).status).toBe(400);
    const res = await r.token({ scope: "sso-sessions.write trading.everything" });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).detail).toContain("trading.everything");
  });

  it("405 for GET", async () => {
    const r = await rig();
    const res = await r.emu.fetch(`${BASE}/oauth2/api/v1/token`, { headers: { "user-agent": UA } });
    expect(res.status).toBe(405);
  });
});
