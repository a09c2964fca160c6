import { startEmulator } from "@ibauth/emulator/node";
import { importPKCS8, SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { CLIENT_ID, clientKeys, IP, UA, USERNAME } from "./helpers.js";

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(extra: Record<string, unknown> = {}) {
  const keys = await clientKeys();
  const srv = await startEmulator({
    clients: [{ clientId: CLIENT_ID, keys: { main: keys.publicKeyPem }, credentials: [USERNAME] }],
    egressIp: IP,
    ...extra,
  });
  close = srv.close;
  return { srv, key: await importPKCS8(keys.privateKeyPem, "RS256") };
}

describe("over real HTTP (startEmulator on 127.0.0.1)", () => {
  it("binds loopback and runs the login with Node's fetch", async () => {
    const { srv, key } = await serve();
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ip = await (await fetch(`${srv.url}/__emulator/ip`)).text();
    expect(ip).toBe(IP);

    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({
      iss: CLIENT_ID,
      sub: CLIENT_ID,
      aud: "/token",
      iat: now,
      exp: now + 600,
    })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: "main" })
      .sign(key);
    const tokenRes = await fetch(`${srv.url}/oauth2/api/v1/token`, {
      method: "POST",
      headers: { "user-agent": "python/3.11", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: assertion,
        scope: "sso-sessions.write",
      }),
    });
    expect(tokenRes.status).toBe(200);
    const { access_token } = (await tokenRes.json()) as { access_token: string };
    const ssoJwt = await new SignJWT({ iss: CLIENT_ID, credential: USERNAME, ip, iat: now, exp: now + 600 })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: "main" })
      .sign(key);
    const ssoRes = await fetch(`${srv.url}/gw/api/v1/sso-sessions`, {
      method: "POST",
      headers: { "user-agent": UA, authorization: `Bearer  ${access_token}`, "content-type": "text/plain" },
      body: ssoJwt,
    });
    expect(ssoRes.status).toBe(200);
    const { access_token: bearer } = (await ssoRes.json()) as { access_token: string };
    const init = await fetch(`${srv.url}/v1/api/iserver/auth/ssodh/init?publish=true&compete=true`, {
      headers: { "user-agent": UA, authorization: `Bearer ${bearer}` },
    });
    expect(await init.json()).toMatchObject({ authenticated: true });
    expect(srv.emulator.counts()).toMatchObject({ "GET /v1/api/iserver/auth/ssodh/init": 1 });
  });
});
