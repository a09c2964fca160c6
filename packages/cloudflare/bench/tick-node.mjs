// The Worker's cron tick with Miniflare taken out: createWorker() run in Node (the same V8) against an
// in-memory KV that counts operations, the emulator in a child process. It reports the KV operations and
// subrequests of each kind of tick, and the CPU of this process per tick, which holds the Worker's own
// JavaScript (core, ibauth's Worker code, jose, valibot, ofetch) plus Node's fetch (undici, in JavaScript;
// workerd's fetch is native) and WebCrypto: compare with tick-cost.mjs, whose workerd figure also holds
// Miniflare's KV simulation (it prints that per operation).
// Usage: node packages/cloudflare/bench/tick-node.mjs [rounds]   (after the build)
import { fileURLToPath } from "node:url";
import { createWorker } from "@ibauth/cloudflare";
import { generateClientKeys } from "@ibauth/emulator";

const { emulatorProcess } = await import(
  fileURLToPath(new URL("../../../test/bench/emulator-child.mjs", import.meta.url))
);
const rounds = Number(process.argv[2] ?? 30);
const keys = await generateClientKeys({ bits: 2048 });
const emulator = await emulatorProcess({
  clients: [{ clientId: "bench-client", keys: { main: keys.publicKeyPem }, credentials: ["benchuser"] }],
  egressIp: "127.0.0.1",
  dailyReset: false,
  rateLimits: false,
});

const values = new Map();
const counts = { get: 0, put: 0, delete: 0, subrequest: 0 };
const kv = {
  async get(key) {
    counts.get++;
    return values.get(key) ?? null;
  },
  async put(key, value) {
    counts.put++;
    values.set(key, String(value));
  },
  async delete(key) {
    counts.delete++;
    values.delete(key);
  },
};
const worker = createWorker({
  // the lease's settle wait is a sleep, not CPU; 0 keeps the run short
  leaseSettleMs: 0,
  fetch: (input, init) => {
    counts.subrequest++;
    return fetch(input, init);
  },
});
const env = {
  IBKR_CLIENT_ID: "bench-client",
  IBKR_CLIENT_KEY_ID: "main",
  IBKR_CREDENTIAL: "benchuser",
  IBKR_PRIVATE_KEY: keys.privateKeyPem,
  IBKR_BASE_URL: emulator.url,
  IBKR_IP: "127.0.0.1",
  IBAUTH_API_KEY: `bench-${crypto.randomUUID()}`,
  IBAUTH_SESSION_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"),
  IBAUTH_LOG_LEVEL: "silent",
  IBAUTH_SESSIONS: kv,
};
const ctx = { waitUntil() {}, passThroughOnException() {} };
const tick = () => worker.scheduled({ scheduledTime: Date.now(), cron: "* * * * *" }, env, ctx);
const control = async (action) => {
  const res = await fetch(`${emulator.url}/__emulator/control`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action }),
  });
  await res.arrayBuffer();
};
const fresh = async () => {
  await control("reset");
  values.clear();
};

async function measure(label, prepare) {
  const before = { ...counts };
  let cpu = 0;
  for (let i = 0; i < rounds; i++) {
    await prepare();
    const c0 = process.cpuUsage();
    await tick();
    const c = process.cpuUsage(c0);
    cpu += c.user + c.system;
  }
  const per = (k) => ((counts[k] - before[k]) / rounds).toFixed(1);
  return {
    tick: label,
    rounds,
    "CPU avg ms": (cpu / rounds / 1000).toFixed(2),
    "KV get": per("get"),
    "KV put": per("put"),
    "KV delete": per("delete"),
    subrequests: per("subrequest"),
  };
}

for (let i = 0; i < 5; i++) {
  await fresh();
  await tick(); // warm-up: compiles the code paths
}
const rows = [await measure("login (empty KV: token + bearer + init)", fresh)];
// counted after the tick, which (a tickle's answer aside) only reads: prepare must not touch KV
rows.push(await measure("plain (record in KV: one tickle)", async () => {}));
console.table(rows);
await emulator.stop();
