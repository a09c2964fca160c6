// tick-cost.mjs for OAuth 1.0a (IBKR_OAUTH1_*): CPU and wall time of the Worker's cron tick when it
// computes a live session token (issue goal: a login tick ≤ 10 ms CPU), and of one proxied, HMAC-SHA256
// signed GET. Measured as tick-cost.mjs measures: the wrangler-bundled example Worker in Miniflare without
// nodejs_compat, the emulator in this Node process (its own RSA verifying and DH are not counted), CPU as
// the workerd process's user+system time from /proc (10 ms granularity, averaged over many rounds; it
// includes Miniflare's local KV simulation, so read it as an upper bound).
// Usage: node packages/cloudflare/bench/tick-cost-oauth1.mjs [rounds]   (after building the packages)
import { readdirSync, readFileSync } from "node:fs";
import { generateOauth1Credentials, startEmulator } from "@ibauth/emulator";
import { Miniflare } from "miniflare";
import { bundleExample } from "../scripts/bundle.mjs";

const rounds = Number(process.argv[2] ?? 30);
const script = bundleExample();

const creds = await generateOauth1Credentials({ consumerKey: "BENCHCONS" });
const emulator = await startEmulator({
  port: 0,
  host: "127.0.0.1",
  oauth1Consumers: [creds.consumer],
  dailyReset: false,
  rateLimits: false,
});
const apiKey = `bench-${crypto.randomUUID()}`;
const mf = new Miniflare({
  modules: true,
  script,
  compatibilityDate: "2026-04-01",
  compatibilityFlags: [],
  kvNamespaces: ["IBAUTH_SESSIONS"],
  bindings: {
    IBKR_OAUTH1_CONSUMER_KEY: creds.client.consumerKey,
    IBKR_OAUTH1_ACCESS_TOKEN: creds.client.accessToken,
    IBKR_OAUTH1_ACCESS_TOKEN_SECRET: creds.client.accessTokenSecret,
    IBKR_OAUTH1_SIGNATURE_KEY: creds.client.signatureKey,
    IBKR_OAUTH1_ENCRYPTION_KEY: creds.client.encryptionKey,
    IBKR_OAUTH1_DH_PRIME: creds.client.dhPrime,
    IBKR_BASE_URL: emulator.url,
    IBAUTH_API_KEY: apiKey,
    IBAUTH_SESSION_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"),
    IBAUTH_LOG_LEVEL: "silent",
  },
  unsafeTriggerHandlers: true,
  host: "127.0.0.1",
  port: 0,
});
const url = (await mf.ready).origin;
const kv = await mf.getKVNamespace("IBAUTH_SESSIONS");

/** The workerd child of this process. */
function workerdPid() {
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === process.pid && stat.includes("(workerd)")) return pid;
    } catch {}
  }
  throw new Error("workerd process not found");
}
const pid = workerdPid();
const ticksPerSecond = 100; // USER_HZ on Linux
function cpuMs() {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

async function tick() {
  const res = await fetch(`${url}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("* * * * *")}`);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`scheduled failed: HTTP ${res.status}`);
}
async function proxiedGet() {
  const res = await fetch(`${url}/v1/api/iserver/accounts?x=1&y=a%20b`, {
    headers: { authorization: `Bearer ${apiKey}` },
  });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`proxied GET failed: HTTP ${res.status}`);
}
async function control(action) {
  const res = await fetch(`${emulator.url}/__emulator/control`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action }),
  });
  return res.json();
}
async function clearKv() {
  for (const { name } of (await kv.list()).keys) await kv.delete(name);
}
const lsts = async () => (await control("counts"))["POST /v1/api/oauth/live_session_token"] ?? 0;

/** Runs `rounds` of `run` after `prepare`, checking each computed the expected number of LSTs. */
async function measure(label, prepare, run, lstsPerRound) {
  const walls = [];
  let cpu = 0;
  for (let i = 0; i < rounds; i++) {
    await prepare();
    const before = await lsts();
    const c0 = cpuMs();
    const t0 = performance.now();
    await run();
    walls.push(performance.now() - t0);
    cpu += cpuMs() - c0;
    const did = (await lsts()) - before;
    if (did !== lstsPerRound)
      throw new Error(`${label}: expected ${lstsPerRound} LST(s) per round, saw ${did}`);
  }
  walls.sort((a, b) => a - b);
  const pick = (q) => walls[Math.min(walls.length - 1, Math.floor(q * walls.length))];
  return {
    "OAuth 1.0a": label,
    rounds,
    "wall p50 ms": pick(0.5).toFixed(1),
    "wall p95 ms": pick(0.95).toFixed(1),
    "CPU avg ms": (cpu / rounds).toFixed(1),
  };
}

const nothing = async () => {};
await tick(); // warm-up: the first tick compiles the module and logs in
const rows = [];
rows.push(
  await measure(
    "login tick (empty KV: DH, LST, init; the secret is decrypted once per isolate)",
    async () => {
      await control("reset");
      await clearKv();
    },
    tick,
    1,
  ),
);
rows.push(await measure("plain tick (record in KV: one signed tickle)", nothing, tick, 0));
rows.push(
  await measure("relogin tick (expire-lst: tickle 401, LST, init)", () => control("expireLst"), tick, 1),
);
// back to back: each waits for the pacer's 20 ms minimum gap after the previous one
rows.push(await measure("proxied GET with a query (HMAC-SHA256 signed)", nothing, proxiedGet, 0));

console.table(rows);
console.log(
  "Goal (issue 15): a Worker login tick in OAuth 1.0a mode ≤ 10 ms CPU. Workers limits: 10 ms CPU per " +
    "invocation on the Free plan, 30 s by default on Paid. Compare with tick-cost.mjs (OAuth 2.0).",
);

await mf.dispose();
await emulator.close();
