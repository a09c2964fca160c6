// CPU of the Durable Object mode, measured from outside workerd (inside it, clocks only move on I/O):
// a login in a user's object, an alarm tick (with 1, 10 and 40 users ticking at once), and a proxied
// call (Worker + object). The bench Worker (bench/durable/entry.ts) is the example with a 1 s keepalive,
// bundled by `wrangler deploy --dry-run` and run in Miniflare with SQLite-backed objects, without
// nodejs_compat; the emulator runs in this Node process, so its own signing is not counted.
// CPU = the workerd process's user+system time (/proc, 10 ms granularity, hence averaged over many
// events); it includes Miniflare's local storage and network plumbing: read it as an upper bound.
// Usage: node packages/cloudflare/bench/durable-cost.mjs [seconds per tick phase]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateClientKeys, startEmulator } from "@ibauth/emulator";
import { Miniflare } from "miniflare";

const seconds = Number(process.argv[2] ?? 20);
const USERS = 40;
const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "../../../");
const outdir = mkdtempSync(join(tmpdir(), "ibauth-cf-do-bench-"));
const built = spawnSync(
  join(root, "node_modules/.bin/wrangler"),
  ["deploy", "--dry-run", "--outdir", outdir, "--config", join(here, "durable/wrangler.toml")],
  { encoding: "utf8", env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" } },
);
if (built.status !== 0) throw new Error(`wrangler failed:\n${built.stdout}${built.stderr}`);
const script = readFileSync(
  join(
    outdir,
    readdirSync(outdir).find((f) => f.endsWith(".js")),
  ),
  "utf8",
);

const labels = Array.from({ length: USERS }, (_, i) => `u${i + 1}`);
const keys = await generateClientKeys({ bits: 2048 });
const emulator = await startEmulator({
  port: 0,
  host: "127.0.0.1",
  clients: [
    {
      clientId: "bench-client",
      keys: { main: keys.publicKeyPem },
      credentials: labels.map((l) => `bench${l}`),
    },
  ],
  egressIp: "127.0.0.1",
  dailyReset: false,
  rateLimits: false,
});
const apiKey = (label) => `bench-api-key-${label}-0123456789abcdef`;
const perUser = {};
for (const label of labels) {
  perUser[`IBKR_CREDENTIAL_${label.toUpperCase()}`] = `bench${label}`;
  perUser[`IBAUTH_API_KEY_${label.toUpperCase()}`] = apiKey(label);
}
const mf = new Miniflare({
  modules: true,
  script,
  compatibilityDate: "2026-04-01",
  compatibilityFlags: [],
  durableObjects: { IBAUTH_SESSION: { className: "IbauthSession", useSQLite: true } },
  bindings: {
    IBAUTH_USERS: labels.join(","),
    IBKR_CLIENT_ID: "bench-client",
    IBKR_CLIENT_KEY_ID: "main",
    IBKR_PRIVATE_KEY: keys.privateKeyPem,
    IBKR_BASE_URL: emulator.url,
    IBKR_IP: "127.0.0.1",
    IBAUTH_SESSION_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"),
    IBAUTH_LOG_LEVEL: "silent",
    ...perUser,
  },
  host: "127.0.0.1",
  port: 0,
});
const url = (await mf.ready).origin;

const [pid] = readdirSync("/proc").filter((p) => {
  try {
    const stat = readFileSync(`/proc/${p}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[1]) === process.pid && stat.includes("(workerd)");
  } catch {
    return false;
  }
});
if (!pid) throw new Error("workerd process not found");
function cpuMs() {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ
}
async function counts() {
  const res = await fetch(`${emulator.url}/__emulator/control`, {
    method: "POST",
    body: JSON.stringify({ action: "counts" }),
  });
  return res.json();
}
async function call(label, path, method = "GET") {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${apiKey(label)}` } });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${method} ${path} for ${label}: HTTP ${res.status}`);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const quantile = (walls, q) =>
  [...walls].sort((a, b) => a - b)[Math.min(walls.length - 1, Math.floor(q * walls.length))];
const rows = [];

// Logins: each user's first POST /session/login creates its object, imports the key and logs in.
async function logins(users) {
  const walls = [];
  const c0 = cpuMs();
  for (const label of users) {
    const t0 = performance.now();
    await call(label, "/session/login", "POST");
    walls.push(performance.now() - t0);
  }
  return { walls, cpu: cpuMs() - c0 };
}
await (await fetch(`${url}/health`)).arrayBuffer(); // warm-up: compiles the module
// Wait out the logins' own first alarms, then count ticks for `seconds` with `users` users alive.
async function ticks(users) {
  await sleep(2000);
  const t0 = (await counts())["POST /v1/api/tickle"] ?? 0;
  const c0 = cpuMs();
  await sleep(seconds * 1000);
  const cpu = cpuMs() - c0;
  const n = ((await counts())["POST /v1/api/tickle"] ?? 0) - t0;
  return {
    event: `alarm tick (${users} users ticking, 1 s keepalive)`,
    count: n,
    "wall p50 ms": "",
    "CPU avg ms": (cpu / n).toFixed(2),
  };
}
await logins(labels.slice(0, 1));
rows.push(await ticks(1));
const first = await logins(labels.slice(1, 21));
rows.unshift({
  event: "login in a new object (token + bearer + init, SQLite writes)",
  count: 20,
  "wall p50 ms": quantile(first.walls, 0.5).toFixed(1),
  "CPU avg ms": (first.cpu / 20).toFixed(2),
});
rows.push(await ticks(21));
await logins(labels.slice(21));
rows.push(await ticks(40));
// Proxied calls: Worker (key lookup, path check) → object (pacer, fetch) → IBKR, sequentially.
const walls = [];
const c0 = cpuMs();
const before = (await counts())["POST /v1/api/tickle"] ?? 0;
for (let i = 0; i < 200; i++) {
  const t0 = performance.now();
  await call("u1", "/v1/api/iserver/accounts");
  walls.push(performance.now() - t0);
}
const cpu = cpuMs() - c0;
const ticksMeanwhile = ((await counts())["POST /v1/api/tickle"] ?? 0) - before;
const tickCpu = Number(rows.at(-1)["CPU avg ms"]);
rows.push({
  event: "proxied call (Worker + object), alarms' share subtracted",
  count: 200,
  "wall p50 ms": quantile(walls, 0.5).toFixed(1),
  "CPU avg ms": ((cpu - ticksMeanwhile * tickCpu) / 200).toFixed(2),
});

console.table(rows);
// A day of one user that only keeps its session alive: one alarm a minute (the simulated day in
// test/durable/day.test.ts counts the same 1,440 alarms and 1,443 storage writes) and one login.
const dayCpuS = (1440 * tickCpu + Number(rows[0]["CPU avg ms"])) / 1000;
console.table([
  {
    "per user and day": "keepalive only",
    "object requests": 1440,
    "CPU s (upper bound)": dayCpuS.toFixed(1),
  },
]);
console.log("Workers limits: 10 ms CPU per invocation on the Free plan, 30 s by default on Paid.");
await mf.dispose();
await emulator.close();
rmSync(outdir, { recursive: true, force: true });
