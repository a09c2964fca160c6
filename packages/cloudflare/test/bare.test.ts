import { describe, expect, inject, it } from "vitest";
import "./provided";

// Drives the wrangler-bundled example Worker, running in a bare Miniflare without nodejs_compat (started by
// test/node/global-setup.ts), over real HTTP on 127.0.0.1; the emulator runs as a Node server.
const bare = inject("bare");

const counts = async () => {
  const res = await fetch(`${bare.emulatorUrl}/__emulator/control`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action: "counts" }),
  });
  return (await res.json()) as Record<string, number>;
};

describe("the example Worker, bundled by wrangler, in workerd without nodejs_compat", () => {
  it("bundles with wrangler deploy --dry-run, with no node:* import", () => {
    expect(bare.bundle.wranglerExit, bare.bundle.wranglerOutput).toBe(0);
    expect(bare.bundle.gzipBytes).toBeGreaterThan(0);
    expect(bare.bundle.nodeImports).toBe(0);
  });

  it("logs in on the cron trigger, reports healthy, and proxies with the API key", async () => {
    expect(bare.startError).toBe("");
    expect(bare.workerUrl).not.toBe("");
    const before = await fetch(`${bare.workerUrl}/health`);
    expect(before.status).toBe(503);
    await before.arrayBuffer();

    const cron = await fetch(
      `${bare.workerUrl}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`,
    );
    expect(cron.status).toBe(200);
    await cron.arrayBuffer();
    const c = await counts();
    expect(c["POST /gw/api/v1/sso-sessions"]).toBe(1);
    expect(c["POST /v1/api/iserver/auth/ssodh/init"]).toBe(1);

    const health = await fetch(`${bare.workerUrl}/health`);
    const body = (await health.json()) as { state: string };
    expect(health.status).toBe(200);
    expect(body.state).toBe("connected");

    const refused = await fetch(`${bare.workerUrl}/v1/api/portfolio/accounts`);
    expect(refused.status).toBe(401);
    await refused.arrayBuffer();
    const accounts = await fetch(`${bare.workerUrl}/v1/api/portfolio/accounts`, {
      headers: { authorization: `Bearer ${bare.apiKey}` },
    });
    expect(accounts.status).toBe(200);
    expect(Array.isArray(await accounts.json())).toBe(true);
  });

  it("OAuth 1.0a: logs in on the cron trigger with one LST and proxies a signed GET with a query", async () => {
    expect(bare.oauth1WorkerUrl).not.toBe("");
    const before = (await counts())["POST /v1/api/oauth/live_session_token"] ?? 0;
    const cron = await fetch(
      `${bare.oauth1WorkerUrl}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`,
    );
    expect(cron.status).toBe(200);
    await cron.arrayBuffer();
    expect((await counts())["POST /v1/api/oauth/live_session_token"]).toBe(before + 1);
    const health = await fetch(`${bare.oauth1WorkerUrl}/health`);
    expect(((await health.json()) as { state: string }).state).toBe("connected");
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${bare.oauth1WorkerUrl}/v1/api/iserver/accounts?x=${i}&y=a%20b`, {
        headers: { authorization: `Bearer ${bare.apiKey}` },
      });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
  });

  it("requests in separate invocations that the pacer spaces out all get through (workerd drops a finished request's timers)", async () => {
    const get = async (path: string) => {
      const res = await fetch(`${bare.workerUrl}${path}`, {
        headers: { authorization: `Bearer ${bare.apiKey}` },
      });
      await res.arrayBuffer();
      return res.status;
    };
    // back to back, within the pacer's minimum gap of each other
    for (let i = 0; i < 5; i++) expect(await get("/v1/api/iserver/accounts")).toBe(200);
    // IBKR allows one /portfolio/accounts per 5 s: the second waits its turn (the first ran in the test above)
    const started = Date.now();
    expect(await get("/v1/api/portfolio/accounts")).toBe(200);
    expect(await get("/v1/api/portfolio/accounts")).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
  });
});
