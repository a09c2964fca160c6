// Node side of the Durable Object tests: the emulator over real HTTP on 127.0.0.1 (one IBKR for every
// user, which tells the users apart by caller IP), a log endpoint for the tests, and the example's
// `wrangler deploy --dry-run`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { generateClientKeys, generateOauth1Credentials, startEmulator } from "@ibauth/emulator/node";
import { Miniflare } from "miniflare";
import type { TestProject } from "vitest/node";
import { BARE_CREDENTIAL, CLIENT_ID, CREDENTIALS, SSP, USERS } from "../users";
import "../provided";

const BARE_API_KEY = `bare-${crypto.randomUUID()}`;
const root = fileURLToPath(new URL("../../../../../", import.meta.url));

/** The example's bundle in a bare Miniflare (no nodejs_compat), one user, IBKR = the emulator over HTTP. */
async function startBare(
  script: string,
  emulatorUrl: string,
  privateKeyPem: string,
): Promise<{ mf?: Miniflare; url: string; error: string }> {
  if (!script) return { url: "", error: "no bundle" };
  try {
    const mf = new Miniflare({
      modules: true,
      script,
      compatibilityDate: "2026-04-01",
      compatibilityFlags: [],
      durableObjects: { IBAUTH_SESSION: { className: "IbauthSession", useSQLite: true } },
      bindings: {
        IBAUTH_USERS: "solo",
        IBKR_CLIENT_ID: CLIENT_ID,
        IBKR_CLIENT_KEY_ID: "main",
        IBKR_PRIVATE_KEY: privateKeyPem,
        IBKR_CREDENTIAL_SOLO: BARE_CREDENTIAL,
        IBAUTH_API_KEY_SOLO: BARE_API_KEY,
        IBKR_BASE_URL: emulatorUrl,
        IBKR_IP: "203.0.113.10", // the emulator's caller IP for requests without a test header
        IBAUTH_SESSION_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"),
        IBAUTH_LOG_LEVEL: "warn",
      },
      host: "127.0.0.1",
      port: 0,
    });
    return { mf, url: (await mf.ready).origin, error: "" };
  } catch (error) {
    return { url: "", error: error instanceof Error ? error.message : String(error) };
  }
}

function dryRun(example: string, outdir: string) {
  const r = spawnSync(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: join(root, example),
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    timeout: 120_000,
  });
  let script = "";
  try {
    script = readFileSync(join(outdir, "index.js"), "utf8");
  } catch {}
  return {
    script,
    wranglerExit: r.status,
    wranglerOutput: `${r.stdout ?? ""}${r.stderr ?? ""}`.slice(-2000),
    bytes: Buffer.byteLength(script),
    gzipBytes: script ? gzipSync(script).length : 0,
  };
}

export default async function setup(project: TestProject) {
  const keys = await generateClientKeys({ bits: 2048 });
  const oauth1 = await generateOauth1Credentials({
    consumerKey: SSP.consumerKey,
    credential: SSP.credential,
  });
  const emulator = await startEmulator({
    port: 0,
    host: "127.0.0.1",
    clients: [{ clientId: CLIENT_ID, keys: { main: keys.publicKeyPem }, credentials: CREDENTIALS }],
    oauth1Consumers: [oauth1.consumer],
    dailyReset: false,
  });
  // GET /requests: the emulator's log; GET /labels?count=N: users no test has used yet (test files have
  // their own module instances, so the count lives here).
  let used = 0;
  const lab = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://lab");
    let body: unknown = emulator.emulator.requests;
    if (url.pathname === "/labels") {
      const count = Number(url.searchParams.get("count"));
      body = Array.from({ length: count }, (_, i) => `u${used + i + 1}`);
      used += count;
    }
    res.writeHead(used > USERS ? 500 : 200, { "content-type": "application/json" });
    res.end(JSON.stringify(used > USERS ? "out of test users: raise USERS in test/durable/users.ts" : body));
  });
  await new Promise<void>((resolve) => lab.listen(0, "127.0.0.1", resolve));
  const outdir = mkdtempSync(join(tmpdir(), "ibauth-cf-do-"));
  const { script, ...example } = dryRun("examples/cloudflare-worker-do", outdir);
  // Its own emulator: the other tests advance theirs, and this Worker runs on the real clock.
  const bareEmulator = await startEmulator({
    port: 0,
    host: "127.0.0.1",
    clients: [{ clientId: CLIENT_ID, keys: { main: keys.publicKeyPem }, credentials: [BARE_CREDENTIAL] }],
    dailyReset: false,
  });
  const bare = await startBare(script, bareEmulator.url, keys.privateKeyPem);
  console.log(
    `\n[cloudflare-durable] examples/cloudflare-worker-do via wrangler deploy --dry-run: exit ${example.wranglerExit}, ` +
      `${(example.bytes / 1024).toFixed(1)} KiB (${(example.gzipBytes / 1024).toFixed(1)} KiB gzip)\n`,
  );
  project.provide("durable", {
    emulatorUrl: emulator.url,
    labUrl: `http://127.0.0.1:${(lab.address() as AddressInfo).port}`,
    publicKeyPem: keys.publicKeyPem,
    privateKeyPem: keys.privateKeyPem,
    sessionKey: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"),
    oauth1: { ...oauth1.client, plainSecret: oauth1.consumer.accessTokenSecret },
    example,
    bare: { url: bare.url, error: bare.error, apiKey: BARE_API_KEY },
  });
  return async () => {
    await bare.mf?.dispose();
    await bareEmulator.close();
    await emulator.close();
    await new Promise((resolve) => lab.close(resolve));
    rmSync(outdir, { recursive: true, force: true });
  };
}
