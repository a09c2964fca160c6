// Runs attacks against the real Worker (the wrangler-bundled example in Miniflare/workerd, no
// nodejs_compat) over raw sockets, with a recording upstream in front of the emulator, and writes the
// table of attacks and what happened to packages/cloudflare/SECURITY.md. Nothing in the table is typed
// by hand: every cell comes from this run.
// Usage: node packages/cloudflare/scripts/red-team.mjs   (after `pnpm -r --filter ./packages/** run build`)

import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { connect } from "node:net";
import { createEmulator, generateClientKeys } from "@ibauth/emulator";
import { Miniflare } from "miniflare";
import { bundleExample } from "./bundle.mjs";

const CANARY = { clientId: "canary-client-4e1f9a", credential: "canaryuser2b7d", apiKey: "" };
CANARY.apiKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
const TIMEOUT_MS = 15_000; // the core's default timeoutMs, which the example Worker uses

const keys = await generateClientKeys({ bits: 2048 });
const emu = createEmulator({
  clients: [
    { clientId: CANARY.clientId, keys: { main: keys.publicKeyPem }, credentials: [CANARY.credential] },
  ],
  egressIp: "127.0.0.1",
  dailyReset: false,
  rateLimits: false,
});

/** What reached "IBKR": every request the Worker sent upstream, with its headers. */
const upstream = [];
/** Hostile answers by path; everything else goes to the emulator. */
const hostile = new Map();
const server = createServer(async (req, res) => {
  const path = (req.url ?? "/").split("?")[0];
  upstream.push({ method: req.method, path, headers: { ...req.headers } });
  const special = hostile.get(path);
  if (special) return special(req, res);
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = chunks.length ? Buffer.concat(chunks) : undefined;
  const answer = await emu.fetch(
    new Request(`http://127.0.0.1${req.url}`, {
      method: req.method,
      headers: Object.entries(req.headers).filter(([k]) => k !== "host"),
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    }),
  );
  res.writeHead(answer.status, Object.fromEntries(answer.headers));
  res.end(Buffer.from(await answer.arrayBuffer()));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const upstreamUrl = `http://127.0.0.1:${server.address().port}`;

const mf = new Miniflare({
  modules: true,
  script: bundleExample(),
  compatibilityDate: "2026-04-01",
  kvNamespaces: ["IBAUTH_SESSIONS"],
  bindings: {
    IBKR_CLIENT_ID: CANARY.clientId,
    IBKR_CLIENT_KEY_ID: "main",
    IBKR_CREDENTIAL: CANARY.credential,
    IBKR_PRIVATE_KEY: keys.privateKeyPem,
    IBKR_BASE_URL: upstreamUrl,
    IBKR_IP: "127.0.0.1",
    IBAUTH_API_KEY: CANARY.apiKey,
    IBAUTH_SESSION_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"),
    IBAUTH_LOG_LEVEL: "debug",
  },
  unsafeTriggerHandlers: true,
  host: "127.0.0.1",
  port: 0,
  handleRuntimeStdio(stdout, stderr) {
    for (const stream of [stdout, stderr]) stream.on("data", (d) => logs.push(String(d)));
  },
});
const logs = [];
const origin = new URL((await mf.ready).origin);

/**
 * One request over a raw socket, exactly as written (method, path, headers): no client library
 * normalises it. Reads the head and at most 64 KiB of body, then hangs up.
 */
function raw(method, path, headers = {}, body = "") {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${origin.host}`, "Connection: close"];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body || ["POST", "PUT", "PATCH"].includes(method))
    lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(Number(origin.port), origin.hostname);
    let data = Buffer.alloc(0);
    const finish = () => {
      socket.destroy();
      const text = data.toString("latin1");
      const headEnd = text.indexOf("\r\n\r\n");
      const head = headEnd < 0 ? text : text.slice(0, headEnd);
      const [statusLine, ...headerLines] = head.split("\r\n");
      const responseHeaders = {};
      for (const line of headerLines) {
        const i = line.indexOf(":");
        if (i > 0) responseHeaders[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({
        status: Number(statusLine?.split(" ")[1] ?? 0) || 0,
        headers: responseHeaders,
        body: headEnd < 0 ? "" : text.slice(headEnd + 4),
        ms: Math.round(performance.now() - started),
      });
    };
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length > 64 * 1024) finish();
    });
    socket.on("end", finish);
    socket.on("error", finish);
    socket.setTimeout(TIMEOUT_MS + 10_000, finish);
    socket.write(`${lines.join("\r\n")}\r\n\r\n${body}`);
  });
}
const auth = { authorization: `Bearer ${CANARY.apiKey}` };
const tick = () =>
  fetch(`${origin.origin}/cdn-cgi/handler/scheduled?cron=*+*+*+*+*`).then((r) => r.arrayBuffer());
const count = (key) => emu.counts()[key] ?? 0;
const LOGIN = "POST /gw/api/v1/sso-sessions";
const INIT = "POST /v1/api/iserver/auth/ssodh/init";

const rows = [];
/** Runs one attack; `judge` turns the answer and what reached upstream into the result cell. */
async function attack(group, name, run, judge) {
  upstream.length = 0;
  const before = { logins: count(LOGIN), inits: count(INIT) };
  const answer = await run();
  const sent = upstream.slice();
  const delta = { logins: count(LOGIN) - before.logins, inits: count(INIT) - before.inits };
  const result = judge(answer, sent, delta);
  rows.push({ group, name, result });
  process.stdout.write(`${group} | ${name} | ${result}\n`);
}
const upstreamCount = (sent) =>
  sent.length === 0 ? "nothing sent upstream" : `${sent.length} upstream request(s)`;

// First, before any login: IBKR answers the cron's login with an error that echoes the identifiers.
await attack(
  "secrets",
  "IBKR echoes the client id and username in upper case in a login error",
  async () => {
    emu.failNext({
      path: "/gw/api/v1/sso-sessions",
      status: 403,
      body: { error: `${CANARY.credential.toUpperCase()} not enabled for ${CANARY.clientId.toUpperCase()}` },
    });
    await tick();
    return raw("GET", "/health");
  },
  (health, _s, d) => {
    const surface = `${health.body}\n${logs.join("")}`.toLowerCase();
    const found = [CANARY.clientId, CANARY.credential, CANARY.apiKey].filter((s) =>
      surface.includes(s.toLowerCase()),
    );
    const echoed = /not enabled for/.test(health.body) ? "shown redacted" : "not shown";
    return `/health ${health.status}, IBKR's message ${echoed}; canaries in /health and the Worker's logs: ${found.length ? found.join(", ") : "none"} (login attempts: ${d.logins}, log lines checked: ${logs.join("").split("\n").filter(Boolean).length})`;
  },
);
await tick();

for (const path of [
  "/v1/api/../../oauth2/api/v1/token",
  "/v1/api/%2e%2e/%2e%2e/gw/api/v1/sso-sessions",
  "/v1/api/portfolio%2f..%2f..%2fadmin",
  "/v1/api/portfolio%252e%252e/x",
  "/v1/api\\..\\..\\oauth2/api/v1/token",
  "//evil.example/v1/api/portfolio/accounts",
  "/v1/api//portfolio/accounts",
  "/v1/api/portfolio/..;/..;/oauth2/api/v1/token",
  "/v1/api/portfolio/..%3b/x",
  "/v1/api/portfolio/accounts;jsessionid=1",
  "/__emulator/control",
]) {
  await attack(
    "path",
    `GET ${path}`,
    () => raw("GET", path, auth),
    (a, sent) => `${a.status}, ${upstreamCount(sent)}`,
  );
}

for (const method of ["TRACE", "TRACK", "CONNECT", "PROPFIND", "MKCOL", "FOO"]) {
  await attack(
    "method",
    `${method} /v1/api/portfolio/accounts`,
    () => raw(method, "/v1/api/portfolio/accounts", auth),
    (a, sent) =>
      `${a.status || "connection closed"}${a.headers.allow ? ` (Allow: ${a.headers.allow})` : ""}, ${upstreamCount(sent)}`,
  );
}

for (const [name, headers] of [
  ["no Authorization", {}],
  ["a wrong key", { authorization: "Bearer wrong-wrong-wrong-wrong-wrong" }],
  ["the key minus its last character", { authorization: `Bearer ${CANARY.apiKey.slice(0, -1)}` }],
  ["the key plus a character", { authorization: `Bearer ${CANARY.apiKey}x` }],
  ["the key as Basic auth", { authorization: `Basic ${btoa(`u:${CANARY.apiKey}`)}` }],
  ["the key in a cookie", { cookie: `key=${CANARY.apiKey}` }],
]) {
  await attack(
    "API key",
    name,
    () => raw("GET", "/v1/api/portfolio/accounts", headers),
    (a, sent) => `${a.status}, ${upstreamCount(sent)}`,
  );
}

await attack(
  "headers in",
  "caller sends Cookie, Host, X-Forwarded-*, Forwarded, CF-Connecting-IP",
  () =>
    raw("GET", "/v1/api/portfolio/accounts", {
      ...auth,
      cookie: "api=caller",
      "x-forwarded-for": "192.0.2.1",
      "x-forwarded-host": "evil.example",
      forwarded: "for=192.0.2.1",
      "cf-connecting-ip": "192.0.2.1",
      accept: "application/json",
    }),
  (a, sent) =>
    `${a.status}; upstream got only: ${Object.keys(sent[0]?.headers ?? {})
      .filter((k) => !["host", "connection", "content-length", "accept-encoding"].includes(k))
      .sort()
      .join(", ")}`,
);

hostile.set("/v1/api/hostile/headers", (_req, res) => {
  res.writeHead(302, {
    authorization: "Bearer upstream-secret",
    "set-cookie": "x-sess-uuid=abc",
    "set-cookie2": "old=1",
    "access-control-allow-origin": "*",
    "access-control-allow-credentials": "true",
    location: "https://evil.example/steal",
    "content-type": "application/json",
  });
  res.end("{}");
});
await attack(
  "headers out",
  "IBKR answers with Authorization, Set-Cookie, Set-Cookie2, Access-Control-*, Location to another origin",
  () => raw("GET", "/v1/api/hostile/headers", auth),
  (a) => {
    const leaked = [
      "authorization",
      "set-cookie",
      "set-cookie2",
      "access-control-allow-origin",
      "access-control-allow-credentials",
      "location",
    ].filter((h) => h in a.headers);
    return `${a.status}; passed on: ${leaked.length ? leaked.join(", ") : "none of them"}`;
  },
);
await attack(
  "headers out",
  "POST /v1/api/tickle (its answer holds the WebSocket session id)",
  () => raw("POST", "/v1/api/tickle", auth),
  (a) => `${a.status}; session id in the answer: ${/"session"/.test(a.body) ? "yes" : "no"}`,
);
await attack(
  "CORS",
  "preflight from https://app.example (no allow-list set)",
  () =>
    raw("OPTIONS", "/v1/api/portfolio/accounts", {
      origin: "https://app.example",
      "access-control-request-method": "GET",
    }),
  (a, sent) =>
    `${a.status}, Access-Control-Allow-Origin: ${a.headers["access-control-allow-origin"] ?? "none"}, ${upstreamCount(sent)}`,
);

hostile.set("/v1/api/iserver/hang", () => {}); // never answers
await attack(
  "upstream",
  "IBKR never answers",
  () => raw("GET", "/v1/api/iserver/hang", auth),
  (a) => `${a.status} after ${(a.ms / 1000).toFixed(1)} s`,
);
hostile.set("/v1/api/iserver/endless", (_req, res) => {
  res.writeHead(400, { "content-type": "application/json" });
  const chunk = Buffer.from(`{"error":"${"x".repeat(16 * 1024)}`);
  const write = () => {
    while (res.write(chunk));
  };
  res.on("drain", write);
  res.on("close", () => res.off("drain", write));
  write();
});
await attack(
  "upstream",
  "IBKR sends an endless 400 body on /iserver",
  () => raw("GET", "/v1/api/iserver/endless", auth),
  (a) => `${a.status} after ${a.ms} ms, the body streaming on (a 64 KiB prefix read by the attacker)`,
);
hostile.set("/v1/api/iserver/secdef/search", (_req, res) => {
  res.writeHead(400, { "content-type": "application/json" });
  res.end(JSON.stringify({ error: "no contract for symbol: no bridge" }));
});
await attack(
  "upstream",
  "an /iserver 400 echoes caller input 'no bridge' (3 calls)",
  async () => {
    let last;
    for (let i = 0; i < 3; i++)
      last = await raw("GET", "/v1/api/iserver/secdef/search?symbol=no%20bridge", auth);
    return last;
  },
  (a, _s, d) => `${a.status}; ssodh/init sent: ${d.inits}`,
);

await attack(
  "login brakes",
  "POST /v1/api/logout through the proxy, then a call (3 rounds)",
  async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      await raw("POST", "/v1/api/logout", auth);
      statuses.push((await raw("GET", "/v1/api/portfolio/accounts", auth)).status);
    }
    return statuses;
  },
  (statuses, _s, d) => `calls answered ${statuses.join(", ")}; IBKR logins: ${d.logins}`,
);
// The brake counts in the Worker's own (real) time: let the proxy's login above age out of it.
await new Promise((resolve) => setTimeout(resolve, 61_000));
await attack(
  "login brakes",
  "POST /session/logout then /session/login (3 rounds)",
  async () => {
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      await raw("POST", "/session/logout", auth);
      statuses.push((await raw("POST", "/session/login", auth)).status);
    }
    return statuses;
  },
  (statuses, _s, d) => `logins answered ${statuses.join(", ")}; IBKR logins: ${d.logins}`,
);
await attack(
  "pause",
  "after POST /session/logout: a proxied call and a cron tick",
  async () => {
    await raw("POST", "/session/logout", auth);
    const a = await raw("GET", "/v1/api/portfolio/accounts", auth);
    await tick();
    return a;
  },
  (a, _s, d) => `${a.status}; IBKR logins: ${d.logins}`,
);

const table = [
  "| area | attack | result |",
  "| ---- | ------ | ------ |",
  ...rows.map(
    (r) =>
      `| ${r.group} | ${r.name.replaceAll("|", "\\|").replaceAll("\\", "\\\\")} | ${r.result.replaceAll("|", "\\|")} |`,
  ),
];
const doc = `# Red-team results: the Worker

Generated by \`node packages/cloudflare/scripts/red-team.mjs\` (do not edit by hand): the wrangler-bundled
example Worker in Miniflare (workerd, no \`nodejs_compat\`), requests written byte for byte over raw
sockets, and a recording upstream in front of the emulator that also plays a hostile IBKR. "upstream
request(s)" counts what reached that upstream during the attack. What the Worker promises and what it
leaves to a WAF is in [README.md](README.md#security).

${table.join("\n")}
`;
writeFileSync(new URL("../SECURITY.md", import.meta.url), doc);
await mf.dispose();
server.closeAllConnections();
server.close();
