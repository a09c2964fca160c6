import { describe, expect, inject, it } from "vitest";
import { bindings, control, countsOf, durableHarness, freshLabels } from "./support";
import { apiKeyOf, CLIENT_ID, credentialOf, OPERATOR_KEY } from "./users";
import { world } from "./world";

const INIT = "POST /v1/api/iserver/auth/ssodh/init";
const post = { method: "POST" };

interface Health {
  ok: boolean;
  user?: string;
  state: string;
  reasons: string[];
  config: { ok: boolean; problems: { setting: string; problem: string }[] };
}

describe("many users in one Worker", () => {
  it("keeps 3 users apart: one's lost brokerage session, logout and heal touch no other", async () => {
    const [a, b, c] = (await freshLabels(3)) as [string, string, string];
    const h = await durableHarness([a, b, c]);
    for (const user of [a, b, c]) expect((await h.call(user, "/v1/api/iserver/accounts")).status).toBe(200);

    await control("dropBrokerageSession", { username: credentialOf(a) });
    expect((await h.call(a, "/v1/api/iserver/accounts")).status).toBe(200); // healed in a's object
    expect((await countsOf(a))[INIT]).toBe(2);
    for (const user of [b, c]) expect((await countsOf(user))[INIT]).toBe(1);

    expect((await h.call(a, "/session/logout", post)).status).toBe(200);
    expect((await h.call(a, "/v1/api/iserver/accounts")).status).toBe(503);
    for (const user of [b, c]) {
      expect((await h.call(user, "/v1/api/iserver/accounts")).status).toBe(200);
      expect((await countsOf(user))["POST /v1/api/logout"]).toBeUndefined();
    }

    // the operator's index shows each user's own state
    const index = await h.operator("/health");
    expect(index.status).toBe(503);
    const users = ((await index.json()) as { users: Record<string, Health> }).users;
    expect(users[a]).toMatchObject({ ok: false, state: "paused" });
    expect(users[b]).toMatchObject({ ok: true, state: "connected" });
    expect(users[c]).toMatchObject({ ok: true, state: "connected" });
  });

  it("maps each API key to its own user; the operator key opens the index and /users/<label>/…, not the proxy", async () => {
    const [a, b] = (await freshLabels(2)) as [string, string];
    const h = await durableHarness([a, b]);
    expect((await h.call(a, "/v1/api/iserver/accounts")).status).toBe(200);
    expect((await countsOf(a))["GET /v1/api/iserver/accounts"]).toBe(1);
    expect(await countsOf(b)).toEqual({});

    const mine = (await (await h.call(b, "/health")).json()) as Health;
    expect(mine.user).toBe(b);
    expect(mine.state).toBe("idle");

    expect((await h.anonymous("/v1/api/iserver/accounts")).status).toBe(401);
    expect((await h.operator("/v1/api/iserver/accounts")).status).toBe(404);
    expect((await h.operator(`/users/${b}/session/login`, post)).status).toBe(200);
    expect((await h.operator(`/users/${b}/health`)).status).toBe(200);
    expect((await h.operator("/users/nobody/health")).status).toBe(404);

    // without a key: how many users are healthy, not who they are
    const summary = await (await h.anonymous("/health")).json();
    expect(summary).toEqual({ ok: true, users: 2, unhealthy: 0 });
    // a user's key does not reach another user's routes
    expect((await h.call(a, `/users/${b}/health`)).status).toBe(400);
  });

  it("refuses hostile proxy paths in the Worker, before any object is asked", async () => {
    const [a] = (await freshLabels(1)) as [string];
    const h = await durableHarness([a]);
    for (const path of [
      "/v1/api/../oauth2/api/v1/token",
      "/v1/api/%2e%2e/gw/api/v1/sso-sessions",
      "/v1/api//iserver/accounts",
      "/v1/api/iserver%2faccounts",
      "/oauth2/api/v1/token",
    ]) {
      const res = await h.call(a, path);
      expect(res.status, path).toBe(400);
    }
    expect(await countsOf(a)).toEqual({});
  });

  it("names a user's missing or shared settings in /health, by setting name, and serves the other users", async () => {
    const [a, b] = (await freshLabels(2)) as [string, string];
    const h = await durableHarness([a, b, "nobody"]);
    const res = await h.operator("/health");
    const index = (await res.json()) as { users: Record<string, Health> };
    expect(index.users, JSON.stringify(index)).toBeDefined();
    expect(index.users.nobody?.config.problems).toEqual([
      { setting: "IBAUTH_API_KEY_NOBODY", problem: "missing" },
    ]);
    expect((await h.call(a, "/v1/api/iserver/accounts")).status).toBe(200);

    // a user whose object finds no username of its own (the shared settings do not stand in for it)
    const zed = "zed-1";
    const partial = await durableHarness([b, zed], {
      IBAUTH_API_KEY_ZED_1: "canary-api-key-zed-5b8c0e1d2f3a4b5c",
    });
    const health = await partial.operator(`/users/${zed}/health`);
    expect(health.status).toBe(503);
    const body0 = (await health.json()) as Health;
    expect(body0.state).toBe("misconfigured");
    expect(body0.config.problems).toContainEqual({ setting: "IBKR_CREDENTIAL_ZED_1", problem: "missing" });
    expect((await partial.call(b, "/v1/api/iserver/accounts")).status).toBe(200);

    // two labels for one IBKR username would be two objects fighting over one session
    const [d, e] = (await freshLabels(2)) as [string, string];
    const twice = await durableHarness([d, e], { [`IBKR_CREDENTIAL_${e.toUpperCase()}`]: credentialOf(d) });
    const refused = await twice.anonymous("/health");
    expect(refused.status).toBe(503);
    const body = (await refused.json()) as Health;
    expect(body.config.problems.map((p) => p.setting)).toContain("IBKR_CREDENTIAL_*");
    expect((await twice.call(d, "/v1/api/iserver/accounts")).status).toBe(503);
    expect(JSON.stringify(body)).not.toContain(credentialOf(d));
  });

  it("one user without IBAUTH_USERS: the KV mode's setting names, and a public /health like the KV mode's", async () => {
    const h = await durableHarness([], { IBAUTH_USERS: undefined });
    const res = await h.call("default", "/v1/api/iserver/accounts");
    expect(res.status).toBe(200);
    expect((await countsOf("default"))["POST /gw/api/v1/sso-sessions"]).toBe(1);
    const health = await h.anonymous("/health");
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, user: "default", state: "connected" });
  });

  it("the cron watchdog arms the alarm of every user, and the alarm logs in", async () => {
    const [a, b] = (await freshLabels(2)) as [string, string];
    const h = await durableHarness([a, b]);
    expect(await h.alarmIn(a)).toBeNull();
    await h.cron();
    for (const user of [a, b]) {
      // armed for now: the runtime runs it at once (or the test does, if it has not yet)
      await h.alarm(user);
      await expect.poll(async () => (await countsOf(user))["POST /gw/api/v1/sso-sessions"]).toBe(1);
      await expect.poll(() => h.alarmIn(user)).toBeGreaterThan(55_000);
    }
  });

  it("keeps every secret out of logs, /health and the object's storage; the stored session is sealed", async () => {
    const [a, b] = (await freshLabels(2)) as [string, string];
    const h = await durableHarness([a, b]);
    world.logs.length = 0;
    expect((await h.call(a, "/v1/api/iserver/accounts")).status).toBe(200);
    await control("expireBearers");
    expect((await h.call(a, "/v1/api/iserver/accounts")).status).toBe(200);
    await h.alarm(a);
    const stored = await h.storage(a);
    const session = stored.get("session");
    expect(typeof session === "string" && session.startsWith("ibauth-aesgcm-v1:")).toBe(true);
    const bodies = await Promise.all([
      h.call(a, "/health").then((r) => r.text()),
      h.operator("/health").then((r) => r.text()),
      h.anonymous("/health").then((r) => r.text()),
      h.call(a, "/session/logout", post).then((r) => r.text()),
    ]);
    expect((await h.storage(a)).has("session")).toBe(false); // the logout deleted it
    const surface = [
      ...world.logs,
      ...bodies,
      JSON.stringify([...(await h.storage(b)).entries()]),
      JSON.stringify([...stored.entries()]),
    ].join("\n");
    for (const secret of [
      credentialOf(a),
      credentialOf(b),
      apiKeyOf(a),
      apiKeyOf(b),
      OPERATOR_KEY,
      CLIENT_ID,
      String(bindings.IBAUTH_SESSION_KEY),
      "PRIVATE KEY",
      "eyJ",
    ]) {
      expect(surface).not.toContain(secret);
    }
    expect(world.logs.length).toBeGreaterThan(5);
  });

  it("the example deploys: wrangler deploy --dry-run bundles examples/cloudflare-worker-do", () => {
    const { example } = inject("durable");
    expect(example.wranglerExit, example.wranglerOutput).toBe(0);
    expect(example.wranglerOutput).toContain("IBAUTH_SESSION");
    expect(example.bytes).toBeGreaterThan(10_000);
  });
});
