// Node side of the cloudflare test project (vitest runs globalSetup in Node, the tests in workerd):
// 1. `wrangler deploy --dry-run --outdir` bundles examples/cloudflare-worker and the bundle size is printed;
// 2. that very bundle runs in a bare Miniflare WITHOUT nodejs_compat, against the emulator over real
//    HTTP on 127.0.0.1. test/bare.test.ts drives it through the URLs provided here.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { generateClientKeys, generateOauth1Credentials, startEmulator } from "@ibauth/emulator";
import { Miniflare } from "miniflare";
import type { TestProject } from "vitest/node";
import "../provided";

const root = fileURLToPath(new URL("../../../../", import.meta.url));
const example = join(root, "examples/cloudflare-worker");

function dryRun(outdir: string) {
  const r = spawnSync(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: example,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    timeout: 120_000,
  });
  return { exit: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

export default async function setup(project: TestProject) {
  const outdir = mkdtempSync(join(tmpdir(), "ibauth-cf-"));
  const run = dryRun(outdir);
  let script = "";
  try {
    script = readFileSync(join(outdir, "index.js"), "utf8");
  } catch {}
  const bundle = {
    bytes: Buffer.byteLength(script),
    gzipBytes: gzipSync(script).length,
    nodeImports: (script.match(/from\s*["']node:|require\(["']node:|import\(["']node:/g) ?? []).length,
    wranglerExit: run.exit,
    wranglerOutput: run.output.slice(-2000),
  };
  console.log(
    `\n[cloudflare] examples/cloudflare-worker via wrangler deploy --dry-run\n` +
      `  bundle      ${(bundle.bytes / 1024).toFixed(1)} KiB\n` +
      `  gzip        ${(bundle.gzipBytes / 1024).toFixed(1)} KiB\n` +
      `  node:* imports ${bundle.nodeImports}\n`,
  );

  const keys = await generateClientKeys({ bits: 2048 });
  const oauth1 = await generateOauth1Credentials({ consumerKey: "BARECONS1" });
  const emulatorOptions = {
    clients: [{ clientId: "bare-client", keys: { main: keys.publicKeyPem }, credentials: ["bareuser"] }],
    oauth1Consumers: [oauth1.consumer],
    egressIp: "127.0.0.1",
    dailyReset: false as const,
  };
  const emulator = await startEmulator({ port: 0, host: "127.0.0.1", ...emulatorOptions });
  const apiKey = `bare-${crypto.randomUUID()}`;
  let mf: Miniflare | undefined;
  let mf1: Miniflare | undefined;
  let workerUrl = "";
  let oauth1WorkerUrl = "";
  let startError = "";
  if (script) {
    try {
      // The same bundle with OAuth 1.0a settings: the LST's BigInt RSA and DH without nodejs_compat.
      mf1 = new Miniflare({
        modules: true,
        script,
        compatibilityDate: "2026-04-01",
        compatibilityFlags: [],
        kvNamespaces: ["IBAUTH_SESSIONS"],
        bindings: {
          IBKR_OAUTH1_CONSUMER_KEY: oauth1.client.consumerKey,
          IBKR_OAUTH1_ACCESS_TOKEN: oauth1.client.accessToken,
          IBKR_OAUTH1_ACCESS_TOKEN_SECRET: oauth1.client.accessTokenSecret,
          IBKR_OAUTH1_SIGNATURE_KEY: oauth1.client.signatureKey,
          IBKR_OAUTH1_ENCRYPTION_KEY: oauth1.client.encryptionKey,
          IBKR_OAUTH1_DH_PRIME: oauth1.client.dhPrime,
          IBKR_BASE_URL: emulator.url,
          IBAUTH_API_KEY: apiKey,
          IBAUTH_SESSION_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"),
          IBAUTH_LOG_LEVEL: "warn",
        },
        unsafeTriggerHandlers: true,
        host: "127.0.0.1",
        port: 0,
      });
      oauth1WorkerUrl = (await mf1.ready).origin;
      mf = new Miniflare({
        modules: true,
        script,
        compatibilityDate: "2026-04-01",
        compatibilityFlags: [],
        kvNamespaces: ["IBAUTH_SESSIONS"],
        bindings: {
          IBKR_CLIENT_ID: "bare-client",
          IBKR_CLIENT_KEY_ID: "main",
          IBKR_CREDENTIAL: "bareuser",
          IBKR_PRIVATE_KEY: keys.privateKeyPem,
          IBKR_BASE_URL: emulator.url,
          IBKR_IP_LOOKUP_URL: `${emulator.url}/__emulator/ip`,
          IBAUTH_API_KEY: apiKey,
          IBAUTH_SESSION_KEY: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64"),
          IBAUTH_LOG_LEVEL: "warn",
        },
        unsafeTriggerHandlers: true,
        host: "127.0.0.1",
        port: 0,
      });
      workerUrl = (await mf.ready).origin;
    } catch (error) {
      // Reported by test/bare.test.ts as a failure rather than aborting every test of the project.
      startError = error instanceof Error ? error.message : String(error);
    }
  }
  project.provide("bare", {
    workerUrl,
    oauth1WorkerUrl,
    startError,
    emulatorUrl: emulator.url,
    apiKey,
    bundle,
  });

  return async () => {
    await mf?.dispose();
    await mf1?.dispose();
    await emulator.close();
    rmSync(outdir, { recursive: true, force: true });
  };
}
