import { describe, expect, it } from "vitest";
import { CANARY, harness } from "./support";

/** What the Worker actually sent upstream, recorded on the way to the real emulator. */
function recorder() {
  const sent: { url: string; headers: Headers }[] = [];
  return {
    sent,
    wrap:
      (inner: typeof fetch): typeof fetch =>
      (input, init) => {
        const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
        sent.push({
          url,
          headers: new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)),
        });
        return inner(input, init);
      },
  };
}

async function proxied() {
  const rec = recorder();
  const h = await harness();
  const worker = h.another({ fetch: rec.wrap(h.emu.fetch) });
  await h.tick(worker);
  rec.sent.length = 0;
  return { h, worker, sent: rec.sent };
}

// Through a real Request, whose URL parser may already have resolved a trick (then the resolved path is
// judged); test/target.test.ts checks the same rules on raw strings.
describe("the proxy refuses every path trick with 400 and never calls IBKR for it", () => {
  const hostile = [
    "/v1/api/../../oauth2/api/v1/token",
    "/v1/api/%2e%2e/%2e%2e/gw/api/v1/sso-sessions",
    "/v1/api/%2E%2E/x",
    "/v1/api/portfolio%2f..%2f..%2fadmin",
    "/v1/api/portfolio%2Faccounts",
    "/v1/api/portfolio%5c..%5cadmin",
    "/v1/api/portfolio%252e%252e/x",
    "/v1/api\\..\\..\\oauth2/api/v1/token",
    "//evil.example/v1/api/portfolio/accounts",
    "/http://evil.example/v1/api/portfolio/accounts",
    "/v1/api/http://evil.example/x",
    "/v1/api//portfolio/accounts",
    "/v1/api/",
    "/v1/apiportfolio",
    "/v2/api/portfolio/accounts",
    "/oauth2/api/v1/token",
    "/__emulator/control",
    "/v1/api/portfolio/accounts%00",
  ];
  for (const path of hostile) {
    it(`refuses ${path}`, async () => {
      const { h, worker, sent } = await proxied();
      const res = await h.api(path, {}, worker);
      expect(res.status).toBe(400);
      expect(sent).toEqual([]);
    });
  }
});

describe("the proxy's upstream request", () => {
  it("always targets the configured origin, whatever Host or URL the caller used", async () => {
    const { h, worker, sent } = await proxied();
    const req = new Request("https://evil.example/v1/api/portfolio/accounts?x=1", {
      headers: {
        authorization: `Bearer ${CANARY.apiKey}`,
        host: "evil.example",
        "x-forwarded-host": "evil.example",
      },
    });
    const { createExecutionContext } = await import("cloudflare:test");
    const res = await worker.fetch(req, h.env, createExecutionContext());
    expect(res.status).toBe(200);
    expect(sent.map((s) => s.url)).toEqual(["http://127.0.0.1:1/v1/api/portfolio/accounts?x=1"]);
  });

  it("carries the held bearer and none of the caller's credentials or proxy headers", async () => {
    const { h, worker, sent } = await proxied();
    const res = await h.api(
      "/v1/api/portfolio/accounts",
      {
        headers: {
          accept: "application/json",
          cookie: "session=caller-cookie",
          "cf-connecting-ip": "192.0.2.1",
          "x-forwarded-for": "192.0.2.1",
          "x-real-ip": "192.0.2.1",
          "x-emulator-client-ip": "192.0.2.1",
          forwarded: "for=192.0.2.1",
        },
      },
      worker,
    );
    expect(res.status).toBe(200);
    const [upstream] = sent;
    const names = [...(upstream?.headers.keys() ?? [])];
    expect(names.sort()).toEqual(["accept", "authorization", "user-agent"]);
    expect(upstream?.headers.get("authorization")).toMatch(/^Bearer /);
    expect(upstream?.headers.get("authorization")).not.toContain(CANARY.apiKey);
  });

  it("passes IBKR's error status and body through, and drops IBKR's cookies", async () => {
    const { h, worker } = await proxied();
    h.emu.failNext({
      path: "/v1/api/portfolio/accounts",
      status: 503,
      body: { error: "backend busy" },
      headers: { "set-cookie": "x-sess-uuid=abc" },
    });
    const res = await h.api("/v1/api/portfolio/accounts", {}, worker);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: "backend busy" });
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("answers 502 when IBKR gives no HTTP answer at all", async () => {
    const { h, worker } = await proxied();
    h.emu.failNext({ path: "/v1/api/portfolio/accounts", kind: "reset" });
    const res = await h.api("/v1/api/portfolio/accounts", {}, worker);
    expect(res.status).toBe(502);
    expect((await h.api("/v1/api/portfolio/accounts", {}, worker)).status).toBe(200);
  });

  it("streams a body larger than the replay buffer, keeping its Content-Length", async () => {
    const { h } = await proxied();
    const small = h.another({ maxReplayBodyBytes: 16 });
    const body = JSON.stringify({ padding: "x".repeat(4096) });
    const res = await h.api(
      "/v1/api/iserver/auth/status",
      {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "content-length": String(body.length) },
      },
      small,
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { authenticated: boolean }).authenticated).toBe(true);
  });
});

describe("the API key", () => {
  const cases: [string, Record<string, string>][] = [
    ["no Authorization", {}],
    ["a wrong key", { authorization: "Bearer wrong-key-wrong-key-wrong-key" }],
    ["a prefix of the key", { authorization: `Bearer ${CANARY.apiKey.slice(0, -1)}` }],
    ["the key plus a suffix", { authorization: `Bearer ${CANARY.apiKey}x` }],
    ["Basic auth", { authorization: `Basic ${btoa(`user:${CANARY.apiKey}`)}` }],
    ["the key as a cookie", { cookie: `key=${CANARY.apiKey}` }],
  ];
  for (const [name, headers] of cases) {
    it(`refuses ${name} with 401 and sends nothing upstream`, async () => {
      const { h, worker, sent } = await proxied();
      const res = await h.call("/v1/api/portfolio/accounts", { headers }, worker);
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      expect(await res.text()).not.toContain(CANARY.apiKey);
      expect(sent).toEqual([]);
    });
  }

  it("accepts the scheme in any case", async () => {
    const { h, worker } = await proxied();
    const res = await h.call(
      "/v1/api/portfolio/accounts",
      { headers: { authorization: `bearer ${CANARY.apiKey}` } },
      worker,
    );
    expect(res.status).toBe(200);
  });
});
