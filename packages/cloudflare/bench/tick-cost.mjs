// CPU and wall time of the Worker's cron tick, measured from outside workerd (inside it, clocks only move
// on I/O). The wrangler-bundled example Worker runs in Miniflare without nodejs_compat; the emulator runs
// in this Node process, so its own signing and verifying is not counted against the Worker.
// CPU = the workerd process's user+system time (from /proc, 10 ms granularity, hence averaged over many
// ticks); it also includes Miniflare's local KV simulation, so read it as an upper bound.
// --oauth1: the same ticks with IBKR_OAUTH1_* settings, where a login computes a live session token (DH,
// RSA-SHA256; issue 15's goal: a login tick ≤ 10 ms CPU). Both modes also time one proxied signed GET.
// Usage: node packages/cloudflare/bench/tick-cost.mjs [rounds] [--oauth1]   (after `pnpm -r --filter ./packages/** run build`)
import { readdirSync, readFileSync } from "node:fs";
import { generateClientKeys, generateOauth1Credentials, startEmulator } from "@ibauth/emulator";
import { Miniflare } from "miniflare";
import { bundleExample } from "../scripts/bundle.mjs";

const oauth1 = process.argv.includes("--oauth1");
const rounds = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 30);
const script = bundleExample();

const keys = await generateClientKeys({ bits: 2048 });
const creds = oauth1 ? await generateOauth1Credentials({ consumerKey: "BENCHCONS" }) : undefined;
const emulator = await startEmulator({
  port: 0,
  host: "127.0.0.1",
  ...(creds
    ? { oauth1Consumers: [creds.consumer] }
    : {
        clients: [
          { clientId: "bench-client", keys: { main: keys.publicKeyPem }, credentials: ["benchuser"] },
        ],
        egressIp: "127.0.0.1",
      }),
  dailyReset: false,
  rateLimits: false,
});
const apiKey = `bench-${crypto.randomUUID()}`;
const modeBindings = creds
  ? {
      IBKR_OAUTH1_CONSUMER_KEY: creds.client.consumerKey,
      IBKR_OAUTH1_ACCESS_TOKEN: creds.client.accessToken,
      IBKR_OAUTH1_ACCESS_TOKEN_SECRET: creds.client.accessTokenSecret,
      IBKR_OAUTH1_SIGNATURE_KEY: creds.client.signatureKey,
      IBKR_OAUTH1_ENCRYPTION_KEY: creds.client.encryptionKey,
      IBKR_OAUTH1_DH_PRIME: creds.client.dhPrime,
    }
  : {
      IBKR_CLIENT_ID: "bench-client",
      IBKR_CLIENT_KEY_ID: "main",
      IBKR_CREDENTIAL: "benchuser",
      IBKR_PRIVATE_KEY: keys.privateKeyPem,
      IBKR_IP: "127.0.0.1",
    };
const mf = new Miniflare({
  modules: true,
  script,
  compatibilityDate: "2026-04-01",
  compatibilityFlags: [],
  kvNamespaces: ["IBAUTH_SESSIONS"],
  bindings: {
    ...modeBindings,
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

/** The workerd children of this process (each Miniflare spawns one). */
function workerdPids() {
  const found = [];
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[1]) === process.pid && stat.includes("(workerd)")) found.push(pid);
    } catch {}
  }
  return found;
}
const [pid] = workerdPids();
if (!pid) throw new Error("workerd process not found");
const ticksPerSecond = 100; // USER_HZ on Linux
function cpuMs(of = pid) {
  const stat = readFileSync(`/proc/${of}/stat`, "utf8");
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
  await fetch(`${emulator.url}/__emulator/control`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action }),
  });
}
async function clearKv() {
  for (const { name } of (await kv.list()).keys) await kv.delete(name);
}
async function counts() {
  const res = await fetch(`${emulator.url}/__emulator/control`, {
    method: "POST",
    body: JSON.stringify({ action: "counts" }),
  });
  return res.json();
}

/** A login's one request for a new session key: the SSO bearer, or the live session token. */
const COLUMN = oauth1 ? "OAuth 1.0a" : "OAuth 2.0";
const KEY_REQUEST = oauth1 ? "POST /v1/api/oauth/live_session_token" : "POST /gw/api/v1/sso-sessions";
const logins = async () => (await counts())[KEY_REQUEST] ?? 0;

/** Runs `rounds` of `run` after `prepare`, checking each did the expected number of logins (the work measured). */
async function measure(label, prepare, loginsPerTick, run = tick) {
  const walls = [];
  let cpu = 0;
  for (let i = 0; i < rounds; i++) {
    await prepare();
    const before = await logins();
    const c0 = cpuMs();
    const t0 = performance.now();
    await run();
    walls.push(performance.now() - t0);
    cpu += cpuMs() - c0;
    const did = (await logins()) - before;
    if (did !== loginsPerTick)
      throw new Error(`${label}: expected ${loginsPerTick} login(s) per round, saw ${did}`);
  }
  walls.sort((a, b) => a - b);
  const pick = (q) => walls[Math.min(walls.length - 1, Math.floor(q * walls.length))];
  return {
    [COLUMN]: label,
    rounds,
    "wall p50 ms": pick(0.5).toFixed(1),
    "wall p95 ms": pick(0.95).toFixed(1),
    "CPU avg ms": (cpu / rounds).toFixed(1),
  };
}

await tick(); // warm-up: the first tick compiles the module and logs in
const rows = [];
rows.push(
  await measure(
    oauth1
      ? "login tick (empty KV: DH, LST, init; the secret is decrypted once per isolate)"
      : "login tick (empty KV: token + bearer + init)",
    async () => {
      await control("reset");
      await clearKv();
    },
    1,
  ),
);
const nothing = async () => {};
rows.push(await measure("plain tick (record in KV: one tickle)", nothing, 0));
rows.push(
  oauth1
    ? await measure("relogin tick (expire-lst: tickle 401, LST, init)", () => control("expireLst"), 1)
    : await measure(
        "relogin tick (bearer expired: tickle 401, bearer, init)",
        () => control("expireBearers"),
        1,
      ),
);
// back to back: each waits for the pacer's 20 ms minimum gap after the previous one
rows.push(await measure("proxied GET with a query (signed)", nothing, 0, proxiedGet));
// Baseline: a paused Worker's tick reads one KV key and returns; what remains is Miniflare's own overhead.
const paused = await fetch(`${url}/session/logout`, {
  method: "POST",
  headers: { authorization: `Bearer ${apiKey}` },
});
if (!paused.ok) throw new Error(`logout failed: HTTP ${paused.status}`);
await paused.arrayBuffer();
rows.push(await measure("baseline (paused: one KV read, no IBKR request)", nothing, 0));
if (!oauth1) {
  // OAuth 2.0: the part of a login that is the Worker's own CPU wherever it runs: importing the key and the two RS256
  // signatures (client assertion, SSO request), done in workerd by WebCrypto, 200 times.
  const cryptoRounds = 200;
  const signer = new Miniflare({
    modules: true,
    script: `export default { async fetch(request, env) {
      const der = Uint8Array.from(atob(env.PEM.replace(/-----[^-]+-----|\\s/g, "")), (c) => c.charCodeAt(0));
      const data = new TextEncoder().encode("header.payload");
      for (let i = 0; i < ${cryptoRounds}; i++) {
        const key = await crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["sign"]);
        await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, data);
        await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, data);
      }
      return new Response("ok");
    } }`,
    compatibilityDate: "2026-04-01",
    bindings: { PEM: keys.privateKeyPem },
    host: "127.0.0.1",
    port: 0,
  });
  await signer.ready;
  const signerPid = workerdPids().find((p) => p !== pid);
  const before = cpuMs(signerPid);
  await (await signer.dispatchFetch("http://bench/")).text();
  rows.push({
    [COLUMN]: "of which: key import + 2 RS256 signatures (WebCrypto in workerd)",
    rounds: cryptoRounds,
    "wall p50 ms": "",
    "wall p95 ms": "",
    "CPU avg ms": ((cpuMs(signerPid) - before) / cryptoRounds).toFixed(2),
  });
  await signer.dispose();
}
// What the simulation itself costs the workerd process per KV operation and per subrequest (Miniflare
// runs KV as a worker in the same process; on Cloudflare, KV and the network are outside the isolate's
// CPU time). Multiply by a tick's operations (bench/tick-node.mjs counts them) to see how much of a
// tick's figure above is Miniflare's, not the Worker's.
const opRounds = 200;
const record = "x".repeat(1500); // about the size of a sealed session record
const ops = new Miniflare({
  modules: true,
  script: `export default { async fetch(request, env) {
    const op = new URL(request.url).pathname.slice(1);
    for (let i = 0; i < ${opRounds}; i++) {
      const key = "k" + (i % 3);
      if (op === "get") await env.KV.get(key, "text");
      else if (op === "put") await env.KV.put(key, ${JSON.stringify(record)} + i, { expirationTtl: 120 });
      else if (op === "delete") await env.KV.delete(key);
      else if (op === "subrequest") await (await fetch(env.TARGET, { method: "POST", body: "{}" })).text();
    }
    return new Response("ok");
  } }`,
  compatibilityDate: "2026-04-01",
  kvNamespaces: ["KV"],
  bindings: { TARGET: `${emulator.url}/__emulator/ip` },
  host: "127.0.0.1",
  port: 0,
});
await ops.ready;
const opsPid = workerdPids().find((p) => p !== pid);
for (const op of ["put", "get", "delete", "subrequest"]) {
  await (await ops.dispatchFetch(`http://bench/${op}`)).text(); // warm-up
  const c0 = cpuMs(opsPid);
  await (await ops.dispatchFetch(`http://bench/${op}`)).text();
  rows.push({
    [COLUMN]: `Miniflare's own cost of one ${op === "subrequest" ? "subrequest (fetch)" : `KV ${op}`}`,
    rounds: opRounds,
    "wall p50 ms": "",
    "wall p95 ms": "",
    "CPU avg ms": ((cpuMs(opsPid) - c0) / opRounds).toFixed(2),
  });
}
await ops.dispose();

console.table(rows);
console.log(
  `${oauth1 ? "Goal (issue 15): an OAuth 1.0a login tick ≤ 10 ms CPU. " : ""}Workers limits: 10 ms CPU per invocation on the Free plan, 30 s by default on Paid (cron: 15 min wall).`,
);

await mf.dispose();
await emulator.close();
