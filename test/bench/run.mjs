// `pnpm bench`: measures the SDK against the emulator and prints one markdown table.
// `node test/bench/run.mjs --write` also puts the table into BENCHMARKS.md.
import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";
import { gzipSync } from "node:zlib";
import { resolveWorkspacePackage, root } from "../faults/workspace-packages.mjs";
import { emulatorProcess } from "./emulator-child.mjs";
import { throwawayCa } from "./throwaway-ca.mjs";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc");
const load = (name) => import(pathToFileURL(resolveWorkspacePackage(name)).href);
const { IBAuth } = await load("@ibauth/core");
const { createEmulator, generateClientKeys } = await load("@ibauth/emulator");

const KEY_BITS = 3072;
const CLIENT_ID = "bench-client";
const DATA = "/v1/api/iserver/accounts";
const keys = await generateClientKeys({ bits: KEY_BITS });
const users = (n, prefix = "benchuser") => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const emulatorOptions = (credentials, extra = {}) => ({
  clients: [{ clientId: CLIENT_ID, keys: { main: keys.publicKeyPem }, credentials }],
  ...extra,
});
const sdk = (url, credential, extra = {}) =>
  new IBAuth({
    clientId: CLIENT_ID,
    clientKeyId: "main",
    credential,
    privateKey: keys.privateKeyPem,
    baseUrl: url,
    ipLookupUrl: `${url}/__emulator/ip`,
    ...extra,
  });
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KiB`;

/** Runs a child process, feeds it `input`, resolves to its stdout's last line. */
function child(command, args, { input = "", env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.stderr.on("data", (d) => {
      err += d;
    });
    p.once("error", reject);
    p.once("exit", (code) =>
      code === 0
        ? resolve(out.trim().split("\n").pop())
        : reject(new Error(`${command} exited ${code}: ${err.trim().split("\n").slice(-3).join(" ")}`)),
    );
    p.stdin.end(input);
  });
}

/**
 * Cold connect at an injected latency, over HTTP or HTTPS (a throwaway CA, so connections are reused as
 * against api.ibkr.com): the emulator in one child process, the logins in another (which trusts the CA),
 * so neither's CPU is in the other's figure. Median of 5 logins after one warm-up login.
 */
async function coldConnect(latencyMs, { tls, runs = 5 } = {}) {
  const credentials = users(runs + 1, `cold${latencyMs}${tls ? "s" : ""}-`);
  const emu = await emulatorProcess(
    emulatorOptions(credentials, {
      latencyMs,
      ...(tls ? { tlsFiles: { key: tls.keyFile, cert: tls.certFile } } : {}),
    }),
  );
  try {
    const line = await child(process.execPath, [join(root, "test/bench/login-latency.mjs")], {
      input: JSON.stringify({
        url: emu.url,
        clientId: CLIENT_ID,
        privateKeyPem: keys.privateKeyPem,
        credentials,
      }),
      env: tls ? { NODE_EXTRA_CA_CERTS: tls.caFile } : {},
    });
    return JSON.parse(line);
  } finally {
    await emu.stop();
  }
}

/**
 * The seed's Python client (ibauth 0.0.6) against the same emulator: set IBAUTH_SEED_SRC to the `src` of a
 * datawookie/ibkr-oauth-flow checkout and PYTHON to an interpreter with requests, PyJWT, cryptography and
 * tenacity. It opens a new connection for every request. Undefined when not set up.
 */
async function peerConnect(latencyMs, { tls, runs = 5 } = {}) {
  const src = process.env.IBAUTH_SEED_SRC;
  if (!src) return undefined;
  const credentials = users(runs + 1, `peer${latencyMs}${tls ? "s" : ""}-`);
  const emu = await emulatorProcess(
    emulatorOptions(credentials, {
      latencyMs,
      ...(tls ? { tlsFiles: { key: tls.keyFile, cert: tls.certFile } } : {}),
    }),
  );
  const dir = mkdtempSync(join(os.tmpdir(), "ibauth-bench-peer-"));
  const keyFile = join(dir, "key.pem");
  writeFileSync(keyFile, keys.privateKeyPem, { mode: 0o600 });
  try {
    const line = await child(
      process.env.PYTHON ?? "python3",
      [join(root, "test/bench/peer_ibauth_seed.py"), emu.url, keyFile, CLIENT_ID, ...credentials],
      { env: { IBAUTH_SEED_SRC: src, ...(tls ? { REQUESTS_CA_BUNDLE: tls.caFile } : {}) } },
    );
    return Number(line);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await emu.stop();
  }
}

/** CPU (user + system) this process spends per login, the emulator in another process. */
async function cpuPerLogin(n = 20) {
  const credentials = users(n, "cpu");
  const emu = await emulatorProcess(emulatorOptions([...credentials, "warmup"]));
  await sdk(emu.url, "warmup").connect(); // first use compiles code paths: not part of the figure
  const start = process.cpuUsage();
  const t0 = performance.now();
  for (const credential of credentials) await sdk(emu.url, credential).connect();
  const cpu = process.cpuUsage(start);
  const wall = performance.now() - t0;
  await emu.stop();
  return { cpuMs: (cpu.user + cpu.system) / 1000 / n, wallMs: wall / n, n };
}

/**
 * auth.fetch vs a raw fetch with the same bearer to the same endpoint, interleaved, emulator in another
 * process: median wall time per call, and CPU per call of this process (steadier on a shared machine).
 * Calls are spaced so the SDK stays under its own 45 req/s pacing: this measures the per-call cost, not
 * the deliberate pacing.
 */
async function fetchOverhead(n = 400, warmup = 40, gapMs = 20) {
  const emu = await emulatorProcess(emulatorOptions(["overhead"], { rateLimits: false }));
  const auth = sdk(emu.url, "overhead");
  await auth.connect();
  const bearer = await auth.getBearerToken();
  const raw = async () => {
    const res = await fetch(`${emu.url}${DATA}`, {
      headers: { authorization: `Bearer ${bearer}`, "user-agent": "bench" },
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`raw fetch: HTTP ${res.status}`);
  };
  const viaSdk = async () => {
    const res = await auth.fetch(DATA);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`auth.fetch: HTTP ${res.status}`);
  };
  const samples = { raw: { ms: [], cpu: 0 }, sdk: { ms: [], cpu: 0 } };
  for (let i = 0; i < n + warmup; i++) {
    const pair = i % 2 ? ["raw", "sdk"] : ["sdk", "raw"];
    for (const which of pair) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await (which === "raw" ? raw() : viaSdk());
      if (i < warmup) continue;
      samples[which].ms.push(performance.now() - t0);
      const cpu = process.cpuUsage(cpu0);
      samples[which].cpu += cpu.user + cpu.system;
    }
    await new Promise((r) => setTimeout(r, gapMs));
  }
  await emu.stop();
  const rawMs = median(samples.raw.ms);
  const sdkMs = median(samples.sdk.ms);
  return {
    rawMs,
    sdkMs,
    ratio: sdkMs / rawMs,
    rawCpuUs: samples.raw.cpu / n,
    sdkCpuUs: samples.sdk.cpu / n,
    n,
  };
}

/** 1,000 callers at once meet an expired bearer: what does the SDK send? In-process, virtual clock. */
async function thundering(callers = 1000) {
  const clock = { t: Date.UTC(2026, 10, 2, 14) };
  const now = () => clock.t;
  const sleep = async (ms) => {
    const target = clock.t + ms;
    await new Promise((r) => setImmediate(r));
    clock.t = Math.max(clock.t, target);
  };
  const emu = createEmulator(emulatorOptions(["herd"], { now }));
  const base = "http://127.0.0.1:1";
  let refused = 0; // counted here: the emulator's request log is capped
  const counting = async (input, init) => {
    const res = await emu.fetch(input, init);
    if (res.status === 429) refused++;
    return res;
  };
  const auth = sdk(base, "herd", { fetch: counting, now, sleep });
  await auth.connect();
  clock.t += 60_000;
  emu.expireBearers();
  const before = { ...emu.counts() };
  const started = clock.t;
  const results = await Promise.allSettled(Array.from({ length: callers }, () => auth.fetch(DATA)));
  const virtualSeconds = (clock.t - started) / 1000;
  const failed = results.filter((r) => r.status === "rejected" || !r.value.ok).length;
  const after = emu.counts();
  const delta = (key) => (after[key] ?? 0) - (before[key] ?? 0);
  return {
    callers,
    bearers: delta("POST /gw/api/v1/sso-sessions"),
    tokens: delta("POST /oauth2/api/v1/token"),
    inits: delta("POST /v1/api/iserver/auth/ssodh/init") + delta("GET /v1/api/iserver/auth/ssodh/init"),
    tickles: delta("POST /v1/api/tickle") + delta("GET /v1/api/tickle"),
    virtualSeconds,
    data: delta(`GET ${DATA}`),
    refused,
    failed,
  };
}

/**
 * Heap retained per IBAuth instance holding a live session (emulator in another process): the heap with
 * all instances held minus the heap once they are dropped, so one-time allocations cancel out.
 */
async function memoryPerSession(n = 200) {
  const credentials = users(n, "mem");
  const emu = await emulatorProcess(emulatorOptions(credentials));
  const heap = () => {
    for (let i = 0; i < 4; i++) gc();
    return process.memoryUsage().heapUsed;
  };
  let held = [];
  for (const credential of credentials) {
    const auth = sdk(emu.url, credential);
    await auth.connect();
    held.push(auth);
  }
  const withSessions = heap();
  const count = held.length;
  held = [];
  const without = heap();
  await emu.stop();
  return { bytes: (withSessions - without) / count, n: count };
}

/** The core and its dependencies as one minified ESM bundle, gzipped. */
async function coreBundle() {
  // esbuild is tsup's dependency; pnpm links it beside tsup's real directory
  const esbuild = createRequire(realpathSync(join(root, "node_modules/tsup/package.json")))("esbuild");
  const out = await esbuild.build({
    entryPoints: [resolveWorkspacePackage("@ibauth/core")],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    write: false,
    logLevel: "silent",
  });
  const code = out.outputFiles[0].contents;
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

/** The Worker example as wrangler would upload it. */
function workerBundle() {
  const dir = join(root, "examples/cloudflare-worker");
  if (!existsSync(dir)) return undefined;
  const outdir = join(root, ".tmp/bench-worker");
  rmSync(outdir, { recursive: true, force: true });
  const r = spawnSync(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
  });
  if (r.status !== 0) return { error: (r.stderr || r.stdout).trim().split("\n").slice(-3).join(" ") };
  const files = readdirSync(outdir).filter((f) => /\.(m?js)$/.test(f));
  const code = Buffer.concat(files.map((f) => readFileSync(join(outdir, f))));
  return {
    min: files.reduce((a, f) => a + statSync(join(outdir, f)).size, 0),
    gzip: gzipSync(code, { level: 9 }).length,
  };
}

const rows = [];
const add = (what, figure, goal = "") => {
  rows.push(`| ${what} | ${figure} | ${goal} |`);
  console.error(`  ${what}: ${figure}`);
};

console.error(`benchmarks (${KEY_BITS}-bit RSA key)…`);
const overRtt = (r, latency) =>
  `${r.requests} requests in ${r.roundTrips} sequential round trips, ${r.ms.toFixed(1)} ms = ${r.roundTrips} RTT + ${(r.ms - r.roundTrips * latency).toFixed(1)} ms (on the critical path: SDK ${r.betweenMs.toFixed(1)} ms between requests, ${(r.insideMs - r.roundTrips * latency).toFixed(1)} ms inside them beyond the latency: emulator, loopback, HTTP); ${r.cpuMs.toFixed(1)} ms CPU`;
for (const latency of [0, 50, 100]) {
  const r = await coldConnect(latency);
  add(
    `cold connect at ${latency} ms latency (HTTP, 127.0.0.1)`,
    // with no latency, requests sent side by side can finish before the other starts: no chain to count
    latency
      ? overRtt(r, latency)
      : `${r.requests} requests, ${r.ms.toFixed(1)} ms; ${r.cpuMs.toFixed(1)} ms CPU`,
    latency === 100 ? "≤ 3 RTT + 8 ms" : "3 round trips (IP lookup in parallel with the token)",
  );
}
const ca = throwawayCa();
try {
  const r = await coldConnect(100, { tls: ca });
  add("cold connect at 100 ms latency (HTTPS, throwaway CA, 127.0.0.1)", overRtt(r, 100), "≤ 3 RTT + 8 ms");
  for (const tls of [undefined, ca]) {
    const peer = await peerConnect(100, { tls });
    add(
      `peer: the seed's Python client (ibauth 0.0.6), same emulator, 100 ms latency (${tls ? "HTTPS" : "HTTP"})`,
      peer === undefined
        ? "n/a (set IBAUTH_SEED_SRC and PYTHON, see test/bench/peer_ibauth_seed.py)"
        : `4 requests in 4 sequential round trips, ${peer.toFixed(1)} ms = 4 RTT + ${(peer - 400).toFixed(1)} ms`,
    );
  }
} finally {
  ca.cleanup();
}
const cpu = await cpuPerLogin();
add(
  `CPU per login (${KEY_BITS}-bit key, token + bearer + init)`,
  `${cpu.cpuMs.toFixed(1)} ms CPU (${cpu.wallMs.toFixed(1)} ms wall; mean of ${cpu.n} logins)`,
);
const overhead = await fetchOverhead();
add(
  "`auth.fetch` vs raw `fetch`, same bearer and endpoint (median)",
  `${overhead.sdkMs.toFixed(3)} ms vs ${overhead.rawMs.toFixed(3)} ms = ${overhead.ratio.toFixed(2)}x; CPU ${overhead.sdkCpuUs.toFixed(0)} µs vs ${overhead.rawCpuUs.toFixed(0)} µs per call (${overhead.n} each)`,
  "≤ 1.03x",
);
const herd = await thundering();
add(
  `${herd.callers} concurrent callers meet an expired bearer`,
  `${herd.bearers} bearer, ${herd.inits} init, ${herd.tickles} tickle, ${herd.tokens} token; ${herd.data} data requests (each call + its replay) over ${herd.virtualSeconds.toFixed(0)} s of SDK pacing; ${herd.refused} × 429, ${herd.failed} failed callers`,
  "exactly 1 bearer, 0 failed, 0 × 429, ≤ 25 s (IBKR's 50/s allows ~22 s)",
);
const mem = await memoryPerSession();
add("heap per held session", `${kb(mem.bytes)} (${mem.n} IBAuth instances, each connected)`);
const core = await coreBundle();
add("core bundle (with jose + valibot), min + gzip", `${kb(core.gzip)} gzip (${kb(core.min)} minified)`);
const worker = workerBundle();
add(
  "Worker example bundle (wrangler deploy --dry-run), gzip",
  worker === undefined
    ? "n/a (no examples/cloudflare-worker)"
    : worker.error
      ? `n/a (wrangler failed: ${worker.error})`
      : `${kb(worker.gzip)} gzip (${kb(worker.min)} raw)`,
);

// the machine is shared: the load says how far wall times are from what a quiet machine would show
const machine = `${os.cpus()[0]?.model.trim() ?? "unknown CPU"}, ${os.cpus().length} cores, Node ${process.version}, ${os.platform()}, load average ${os.loadavg()[0].toFixed(1)} at the end`;
const table = [
  `| measure | figure | goal |`,
  `|---|---|---|`,
  ...rows,
  "",
  `Measured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${machine}.`,
].join("\n");
console.log(table);

if (process.argv.includes("--write")) {
  const file = join(root, "BENCHMARKS.md");
  const text = readFileSync(file, "utf8");
  const start = "<!-- bench:start -->";
  const end = "<!-- bench:end -->";
  const [head, rest] = text.split(start);
  if (rest === undefined || !rest.includes(end)) throw new Error(`BENCHMARKS.md needs ${start} … ${end}`);
  writeFileSync(file, `${head}${start}\n${table}\n${end}${rest.split(end)[1]}`);
  console.error("updated BENCHMARKS.md");
}
