import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CANARY, type Harness, harness, leakSurface } from "./support";

const BEARER = "POST /gw/api/v1/sso-sessions";
const TOKEN = "POST /oauth2/api/v1/token";
const INIT = "POST /v1/api/iserver/auth/ssodh/init";

/** Every request the Worker sent upstream, with its headers, on its way to the real emulator. */
async function recorded(options: Parameters<typeof harness>[0] = {}) {
  const sent: { method: string; url: string }[] = [];
  const h = await harness(options);
  const worker = h.another({
    fetch: (input, init) => {
      const request = new Request(input, init);
      sent.push({ method: request.method, url: request.url });
      return h.emu.fetch(input, init);
    },
    ...options.worker,
  });
  await h.tick(worker);
  sent.length = 0;
  return { h, worker, sent };
}

const logins = (h: Harness) => h.emu.counts()[BEARER] ?? 0;

describe("POST /session/logout holds for every route and every isolate", () => {
  it("an isolate that cached the record answers 503 'paused' and never logs in again", async () => {
    const h = await harness();
    const other = h.another();
    await h.tick();
    expect((await h.api("/v1/api/portfolio/accounts", {}, other)).status).toBe(200); // caches the record
    expect((await h.api("/session/logout", { method: "POST" })).status).toBe(200);
    h.emu.advance(1000);
    for (const path of ["/v1/api/portfolio/accounts", "/v1/api/iserver/accounts", "/v1/api/tickle"]) {
      for (const worker of [h.worker, other, h.another()]) {
        const res = await h.api(path, {}, worker);
        expect(res.status).toBe(503);
        expect(((await res.json()) as { error: string }).error).toContain("paused");
      }
    }
    expect(logins(h)).toBe(1);
    expect((await h.health()).body.state).toBe("paused");
    expect((await h.api("/session/login", { method: "POST" })).status).toBe(200);
    h.emu.advance(6000); // past the proxy's 5 s cache of the pause flag
    expect((await h.api("/v1/api/portfolio/accounts", {}, other)).status).toBe(200);
  });
});

describe("IBKR's echoes of identifiers", () => {
  for (const shape of [(s: string) => s.toUpperCase(), (s: string) => s.toLowerCase()]) {
    it(`never reach /health, logs, KV or answers (${shape("Case")})`, async () => {
      const h = await harness({ worker: { auth: { sleep: async () => {}, retry: { attempts: 1 } } } });
      h.emu.failNext({
        path: "/oauth2/api/v1/token",
        status: 401,
        body: { error: "invalid_client", error_description: `unknown client ${shape(CANARY.clientId)}` },
      });
      await h.tick();
      h.emu.advance(60_000);
      h.emu.failNext({
        path: "/gw/api/v1/sso-sessions",
        status: 403,
        body: { error: `${shape(CANARY.credential)} not enabled for ${shape(CANARY.clientId)}` },
      });
      const login = await (await h.api("/session/login", { method: "POST" })).text();
      const { body } = await h.health();
      expect(body.lastError?.step).toBe("bearer");
      const surface = leakSurface(h, [login, JSON.stringify(body)]).toLowerCase();
      expect(surface).toContain("[redacted]");
      expect(surface).not.toContain(CANARY.clientId.toLowerCase());
      expect(surface).not.toContain(CANARY.credential.toLowerCase());
    });
  }
});

describe("methods and path parameters", () => {
  // workerd builds Requests with these; CONNECT and unknown tokens go through raw sockets in scripts/red-team.mjs.
  for (const method of ["PROPFIND", "TRACE", "MKCOL", "LOCK"]) {
    it(`${method} gets 405 and nothing goes upstream`, async () => {
      const { h, worker, sent } = await recorded();
      const request = new Request("https://ibauth-worker.example/v1/api/portfolio/accounts", {
        method,
        headers: { authorization: `Bearer ${CANARY.apiKey}` },
      });
      const res = await worker.fetch(request, h.env, createExecutionContext());
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toContain("GET");
      expect(sent).toEqual([]);
    });
  }

  for (const path of [
    "/v1/api/portfolio/..;/..;/oauth2/api/v1/token",
    "/v1/api/portfolio/..%3b/x",
    "/v1/api/portfolio/accounts;jsessionid=1",
    "/v1/api/portfolio;x=1/accounts",
  ]) {
    it(`refuses ${path} with 400 before any upstream call`, async () => {
      const { h, worker, sent } = await recorded();
      expect((await h.api(path, {}, worker)).status).toBe(400);
      expect(sent).toEqual([]);
    });
  }
});

describe("IBKR's response headers", () => {
  it("Authorization, Set-Cookie*, CORS and foreign Location never reach the caller; a same-origin Location stays relative", async () => {
    const { h, worker } = await recorded();
    h.emu.failNext({
      path: "/v1/api/portfolio/accounts",
      status: 302,
      body: {},
      headers: {
        authorization: "Bearer upstream-secret",
        "set-cookie": "x-sess-uuid=abc",
        "set-cookie2": "old=1",
        "access-control-allow-origin": "*",
        "access-control-allow-credentials": "true",
        location: "https://evil.example/steal",
      },
    });
    const res = await h.api("/v1/api/portfolio/accounts", {}, worker);
    expect(res.status).toBe(302);
    for (const name of [
      "authorization",
      "set-cookie",
      "set-cookie2",
      "access-control-allow-origin",
      "access-control-allow-credentials",
      "location",
    ])
      expect(res.headers.get(name), name).toBeNull();
    h.emu.failNext({
      path: "/v1/api/portfolio/accounts",
      status: 301,
      body: {},
      headers: { location: "http://127.0.0.1:1/v1/api/portfolio/accounts/?x=1" },
    });
    const same = await h.api("/v1/api/portfolio/accounts", {}, worker);
    expect(same.headers.get("location")).toBe("/v1/api/portfolio/accounts/?x=1");
  });

  it("the session id of /tickle answers stays in the Worker", async () => {
    const { h, worker } = await recorded();
    const res = await h.api("/v1/api/tickle", { method: "POST" }, worker);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.session).toBeUndefined();
    expect(body.iserver).toBeDefined();
  });

  it("… also behind a relay whose IBKR_BASE_URL has a path prefix; 'no bridge' there still heals", async () => {
    // The relay strips its prefix and forwards to IBKR (here: the emulator), as a real one does.
    const relay: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      if (url.pathname.startsWith("/ibkr/")) url.pathname = url.pathname.slice("/ibkr".length);
      const headers = new Headers(request.headers);
      let body: ArrayBuffer | undefined;
      if (request.method !== "GET" && request.method !== "HEAD") {
        body = await request.arrayBuffer();
        headers.set("content-length", String(body.byteLength));
      }
      return h.emu.fetch(url.toString(), { method: request.method, headers, body });
    };
    const h = await harness({ env: { IBKR_BASE_URL: "http://127.0.0.1:1/ibkr" }, worker: { fetch: relay } });
    await h.tick();
    const res = await h.api("/v1/api/tickle", { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.session).toBeUndefined();
    expect(body.iserver).toBeDefined();
    h.emu.dropBrokerageSession();
    h.emu.advance(60_000); // IBKR allows one /tickle a second; the heal's tick tickles
    expect((await h.api("/v1/api/iserver/accounts")).status).toBe(200);
    expect(h.emu.counts()[INIT]).toBe(2);
  });
});

describe("CORS", () => {
  const preflight = {
    method: "OPTIONS",
    headers: { origin: "https://app.example", "access-control-request-method": "GET" },
  };
  it("is off by default: a preflight meets the API key check, and no answer carries CORS headers", async () => {
    const { h, worker } = await recorded();
    const res = await h.call("/v1/api/portfolio/accounts", preflight, worker);
    expect(res.status).toBe(401);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    const ok = await h.api(
      "/v1/api/portfolio/accounts",
      { headers: { origin: "https://app.example" } },
      worker,
    );
    expect(ok.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("an allow-listed origin gets its preflight answered and CORS headers; others get none", async () => {
    const { h, worker, sent } = await recorded({ worker: { corsOrigins: ["https://app.example"] } });
    const res = await h.call("/v1/api/portfolio/accounts", preflight, worker);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example");
    expect(res.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(sent).toEqual([]);
    const ok = await h.api(
      "/v1/api/portfolio/accounts",
      { headers: { origin: "https://app.example" } },
      worker,
    );
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const other = await h.api(
      "/v1/api/portfolio/accounts",
      { headers: { origin: "https://evil.example" } },
      worker,
    );
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const evil = await h.call(
      "/v1/api/portfolio/accounts",
      { ...preflight, headers: { ...preflight.headers, origin: "https://evil.example" } },
      worker,
    );
    expect(evil.status).toBe(401);
  });
});

describe("a slow or hostile upstream", () => {
  it("a hung IBKR gets 504 after the core's timeoutMs", async () => {
    const { h, worker } = await recorded({ worker: { auth: { sleep: async () => {}, timeoutMs: 300 } } });
    h.emu.failNext({ path: "/v1/api/portfolio/accounts", kind: "hang" });
    const started = Date.now();
    const res = await h.api("/v1/api/portfolio/accounts", {}, worker);
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("an endless 400 body on /iserver is read only for a small prefix and passed on", async () => {
    const h = await harness();
    let pulled = 0;
    const worker = h.another({
      fetch: async (input, init) => {
        const url = new Request(input, init).url;
        if (!url.endsWith("/v1/api/iserver/endless")) return h.emu.fetch(input, init);
        const chunk = new TextEncoder().encode(`{"error":"${"x".repeat(1000)}`);
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            pulled += chunk.byteLength;
            controller.enqueue(chunk);
          },
        });
        return new Response(body, { status: 400 });
      },
    });
    await h.tick(worker);
    const res = await h.api("/v1/api/iserver/endless", {}, worker);
    expect(res.status).toBe(400);
    const reader = res.body?.getReader();
    await reader?.read();
    await reader?.cancel();
    expect(pulled).toBeLessThan(64 * 1024);
    expect(h.emu.counts()[INIT]).toBe(1);
  });

  it("'no bridge' echoed from caller input in a 400 neither re-opens nor takes the session", async () => {
    const { h, worker } = await recorded();
    for (let i = 0; i < 3; i++) {
      h.emu.failNext({
        path: "/v1/api/iserver/secdef/search",
        status: 400,
        body: { error: "no contract for symbol: no bridge" },
      });
      const res = await h.api("/v1/api/iserver/secdef/search?symbol=no%20bridge", {}, worker);
      expect(res.status).toBe(400);
    }
    expect(h.emu.counts()[INIT]).toBe(1);
  });
});

describe("login brakes", () => {
  it("10 × logout/login makes one login; the rest get 429 with Retry-After", async () => {
    const h = await harness();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      await h.api("/session/logout", { method: "POST" });
      const res = await h.api("/session/login", { method: "POST" });
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    }
    expect(statuses[0]).toBe(200);
    expect(statuses.slice(1)).toEqual(Array(9).fill(429));
    expect(logins(h)).toBe(1);
    expect(h.emu.counts()[TOKEN]).toBe(1);
  });

  it("a proxied /v1/api/logout followed by a call, from fresh isolates: one re-login a minute, then 429", async () => {
    const h = await harness();
    await h.tick();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const isolate = h.another();
      await h.api("/v1/api/logout", { method: "POST" }, isolate);
      const res = await h.api("/v1/api/portfolio/accounts", {}, isolate);
      statuses.push(res.status);
    }
    expect(statuses[0]).toBe(200);
    // 429 from the brake; or IBKR's 401 passed on when this isolate's own heal (of the logout call) was braked
    expect(statuses[1]).toBe(429);
    expect(statuses.slice(2).every((s) => s === 429 || s === 401)).toBe(true);
    expect(logins(h)).toBe(2); // the cron's and one heal
    h.emu.advance(61_000);
    expect((await h.api("/v1/api/portfolio/accounts", {}, h.another())).status).toBe(200);
  });
});

describe("config: keys that cannot work or were not drawn at random", () => {
  for (const [name, env, setting, words] of [
    [
      "an API key with spaces",
      { IBAUTH_API_KEY: "correct horse battery staple x" },
      "IBAUTH_API_KEY",
      "whitespace",
    ],
    ["24 × 'a' as API key", { IBAUTH_API_KEY: "a".repeat(24) }, "IBAUTH_API_KEY", "random"],
    [
      "32 zero bytes as session key",
      { IBAUTH_SESSION_KEY: btoa("\0".repeat(32)) },
      "IBAUTH_SESSION_KEY",
      "random",
    ],
  ] as const) {
    it(`refuses ${name}, naming the setting and not the value`, async () => {
      const h = await harness({ env });
      const { status, body } = await h.health();
      expect(status).toBe(503);
      expect(body.config.problems).toHaveLength(1);
      expect(body.config.problems[0]?.setting).toBe(setting);
      expect(body.config.problems[0]?.problem).toContain(words);
      expect(JSON.stringify(body)).not.toContain(Object.values(env)[0]);
    });
  }

  it("a problem's text says each sentence once", async () => {
    const h = await harness({
      env: { IBKR_PRIVATE_KEY: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" },
    });
    const problem = (await h.health()).body.config.problems[0]?.problem ?? "";
    const sentences = problem.split(/\.\s+/).map((s) => s.trim().replace(/\.$/, ""));
    expect(sentences.length).toBeGreaterThan(1);
    expect(new Set(sentences).size).toBe(sentences.length);
  });
});
