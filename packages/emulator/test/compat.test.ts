import { describe, expect, it } from "vitest";
import { BASE, rig, testClock } from "./helpers.js";

// Request shapes taken from the clients the protocol notes cite (§3), so the emulator never rejects
// what works against IBKR.
describe("accepts what IBKR's samples and the Python ibauth client send", () => {
  it("Python ibauth: 600 s assertions, User-Agent python/3.11, JSON ssodh/init, GET tickle", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const now = r.nowSec();
    const ua = { "user-agent": "python/3.11" };
    const token = await r.emu.fetch(`${BASE}/oauth2/api/v1/token`, {
      method: "POST",
      headers: { ...ua, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        client_assertion: await r.assertion({ iat: now, exp: now + 600 }),
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        grant_type: "client_credentials",
        scope: "sso-sessions.write",
      }).toString(),
    });
    expect(token.status).toBe(200);
    const { access_token } = (await token.json()) as { access_token: string };
    const sso = await r.sso(await r.ssoJwt({ iat: now, exp: now + 600 }), access_token, ua);
    expect(sso.status).toBe(200);
    const { access_token: bearer } = (await sso.json()) as { access_token: string };
    const headers = { ...ua, "content-type": "application/json" };
    const init = await r.api("/iserver/auth/ssodh/init", bearer, {
      method: "POST",
      headers,
      body: JSON.stringify({ publish: true, compete: true }),
    });
    expect(await init.json()).toMatchObject({ authenticated: true });
    expect((await r.api("/tickle", bearer, { headers: ua })).status).toBe(200);
    expect(await (await r.api("/sso/validate", bearer, { headers: ua })).json()).toMatchObject({
      RESULT: true,
    });
  });

  it("IBKR's OAuth2 samples: iat now-10 / exp now+20, sso exp now+86400; C#: two scopes, text/plain, POST tickle", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const token = await r.token({ scope: "sso-sessions.write sso-sessions.read" });
    const { access_token } = (await token.json()) as { access_token: string };
    const sso = await r.sso(await r.ssoJwt({ exp: r.nowSec() + 86400 }), access_token, {
      "content-type": "text/plain",
    });
    const { access_token: bearer } = (await sso.json()) as { access_token: string };
    expect((await r.api("/tickle", bearer, { method: "POST" })).status).toBe(200);
  });

  it("IBKR's Postman: 'Bearer  <token>' with two spaces, ssodh/init flags in both query and body", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const bearer = await r.bearer();
    const res = await r.api("/iserver/auth/ssodh/init?publish=true&compete=true", bearer, {
      method: "POST",
      headers: { authorization: `Bearer  ${bearer}` },
      body: '{"publish":true,"compete":true}',
    });
    expect(await res.json()).toMatchObject({ authenticated: true });
  });
});
