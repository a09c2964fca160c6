import { describe, expect, inject, it } from "vitest";

// The example exactly as `wrangler deploy` would ship it, in a Miniflare without nodejs_compat: the
// Durable Object mode needs no Node compatibility and runs with the runtime's own fetch.
describe("the bundled example in a bare workerd (no nodejs_compat)", () => {
  const { bare } = inject("durable");
  const call = (path: string, init: RequestInit = {}) =>
    fetch(`${bare.url}${path}`, { ...init, headers: { authorization: `Bearer ${bare.apiKey}` } });

  it("starts, logs in through the user's object, proxies, pauses and resumes", async () => {
    expect(bare.error).toBe("");
    const proxied = await call("/v1/api/iserver/accounts");
    expect(proxied.status).toBe(200);
    expect(await proxied.json()).toHaveProperty("accounts");
    const health = await call("/health");
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, user: "solo", state: "connected" });
    expect((await call("/session/logout", { method: "POST" })).status).toBe(200);
    expect((await call("/v1/api/iserver/accounts")).status).toBe(503);
    expect((await call("/session/login", { method: "POST" })).status).toBe(200);
    expect((await call("/v1/api/iserver/accounts")).status).toBe(200);
  });
});
