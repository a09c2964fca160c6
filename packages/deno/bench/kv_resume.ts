// What Deno KV buys: a cold login versus resuming a stored session, and the store's own cost, against
// the in-process emulator (no network latency: these are the SDK's and KV's costs alone). Prints a table.
//   deno run --allow-read --allow-env --allow-write=<tmp> --unstable-kv bench/kv_resume.ts
// @ts-types="../../emulator/dist/index.d.ts"
import { createEmulator, generateClientKeys } from "@ibauth/emulator";
import { denoKvStore, IBAuth, type IBAuthOptions, type SessionRecord } from "../src/mod.ts";

const RUNS = 7;
const keys = await generateClientKeys({ bits: 2048 });
const emu = createEmulator({
  clients: [{ clientId: "bench", keys: { main: keys.publicKeyPem }, credentials: ["benchuser"] }],
  rateLimits: false,
});
const base: IBAuthOptions = {
  clientId: "bench",
  clientKeyId: "main",
  credential: "benchuser",
  privateKey: keys.privateKeyPem,
  baseUrl: "http://127.0.0.1:1",
  ipLookupUrl: "http://127.0.0.1:1/__emulator/ip",
  fetch: emu.fetch,
};
const dir = await Deno.makeTempDir();

async function timed(run: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await run();
  return performance.now() - t;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const rows: Array<[string, number, number | string]> = [];
/** `requests` counts calls to the emulator, for the rows that talk to it. */
async function row(name: string, requests: (() => number) | undefined, run: (i: number) => Promise<unknown>) {
  const ms: number[] = [];
  let sent: number | string = "-";
  for (let i = 0; i < RUNS; i++) {
    const before = requests?.() ?? 0;
    ms.push(await timed(() => run(i)));
    if (requests) sent = requests() - before;
  }
  rows.push([name, median(ms), sent]);
}
const requests = () => emu.requests.length;

await row("cold connect (no stored session)", requests, async (i) => {
  const kv = await Deno.openKv(`${dir}/cold-${i}.kv`);
  await new IBAuth({ ...base, store: denoKvStore(kv) }).connect();
  kv.close();
});

const path = `${dir}/shared.kv`;
const seed = await Deno.openKv(path);
await new IBAuth({ ...base, store: denoKvStore(seed) }).connect();
seed.close();
await row("resume from a KV file (new process)", requests, async () => {
  const kv = await Deno.openKv(path);
  await new IBAuth({ ...base, store: denoKvStore(kv) }).connect();
  kv.close();
});

const kv = await Deno.openKv(`${dir}/store.kv`);
const record: SessionRecord = {
  v: 1,
  owner: "bench",
  accessToken: { token: "a".repeat(900), expiresAt: Date.now() + 86_400_000 },
  bearer: { token: "b".repeat(900), ip: "203.0.113.10", createdAt: Date.now() },
  brokerageInitAt: Date.now(),
  updatedAt: Date.now(),
};
const plain = denoKvStore(kv, { id: "plain" });
const sealed = denoKvStore(kv, { id: "sealed", encryptionKey: crypto.getRandomValues(new Uint8Array(32)) });
await row("store set + get, plain", undefined, async () => {
  await plain.set(record);
  await plain.get();
});
await row("store set + get, AES-GCM", undefined, async () => {
  await sealed.set(record);
  await sealed.get();
});
kv.close();
await Deno.remove(dir, { recursive: true });

console.log(`| step (median of ${RUNS}) | ms | requests to IBKR |`);
console.log("|---|---:|---:|");
for (const [name, ms, sent] of rows) console.log(`| ${name} | ${ms.toFixed(2)} | ${sent} |`);
