import { describe, expect, it } from "vitest";
import { rig, testClock, USERNAME } from "./helpers.js";

describe("the happy path", () => {
  it("token -> sso-sessions -> ssodh/init -> tickle -> validate -> status -> accounts -> logout", async () => {
    const r = await rig({ now: testClock().now });
    const tokenRes = await r.token();
    expect(tokenRes.status).toBe(200);
    const token = (await tokenRes.json()) as Record<string, unknown>;
    expect(token).toMatchObject({ token_type: "Bearer", expires_in: 86399, scope: "sso-sessions.write" });

    const ssoRes = await r.sso(await r.ssoJwt(), token.access_token as string);
    expect(ssoRes.status).toBe(200);
    const sso = (await ssoRes.json()) as Record<string, unknown>;
    expect(sso).toMatchObject({ token_type: "Bearer", active: true });
    const bearer = sso.access_token as string;

    const init = await r.api("/iserver/auth/ssodh/init", bearer, {
      method: "POST",
      body: '{"publish":true,"compete":true}',
    });
    expect(init.status).toBe(200);
    expect(await init.json()).toMatchObject({ authenticated: true, competing: false, connected: true });

    const tickle = (await (await r.api("/tickle", bearer, { method: "POST" })).json()) as {
      session: string;
      ssoExpires: number;
      hmds: unknown;
      iserver: { authStatus: unknown };
    };
    expect(tickle.session).toMatch(/^[0-9a-f]{32}$/);
    expect(tickle.ssoExpires).toBe(360_000);
    expect(tickle.iserver.authStatus).toMatchObject({
      authenticated: true,
      competing: false,
      connected: true,
    });
    expect(tickle.hmds).toEqual({ error: "no bridge" });

    const validate = (await (await r.api("/sso/validate", bearer)).json()) as Record<string, unknown>;
    expect(validate).toMatchObject({ RESULT: true, USER_NAME: USERNAME, EXPIRES: 360_000 });

    const status = await r.api("/iserver/auth/status", bearer, { method: "POST" });
    expect(await status.json()).toMatchObject({ authenticated: true, connected: true });

    const accounts = (await (await r.api("/iserver/accounts", bearer)).json()) as { accounts: string[] };
    expect(accounts.accounts[0]).toMatch(/^DU\d{7}$/);
    const portfolio = (await (await r.api("/portfolio/accounts", bearer)).json()) as { id: string }[];
    const summary = await r.api(`/portfolio/${portfolio[0]?.id}/summary`, bearer);
    expect(summary.status).toBe(200);
    expect(await summary.json()).toMatchObject({ netliquidation: { amount: 1_000_000, currency: "USD" } });

    expect(await (await r.api("/logout", bearer, { method: "POST" })).json()).toEqual({ status: true });
    expect((await r.api("/tickle", bearer)).status).toBe(401);
  });
});
