import { createPublicKey } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Oauth1Credentials, ServedRequest } from "@ibauth/emulator/node";
import { loadPrivateKeyFile } from "../keys";
import type { CliContext } from "./context";
import { localError, UsageError } from "./failure";
import { generateRsaKeys, parseBits } from "./keygen";

/** The emulator's one registered client (its data is fake, so none of this is secret). */
export const DEMO = {
  clientId: "demo-client",
  clientKeyId: "main",
  credential: "demouser",
  egressIp: "203.0.113.10",
  /** `--oauth1`: the emulator's OAuth 1.0a consumer and its username. */
  consumerKey: "DEMOCONS1",
  oauth1Credential: "demooauth1",
} as const;

export async function startDemoEmulator(
  publicKeyPem: string,
  port = 0,
  host = "127.0.0.1",
  onRequest?: (request: ServedRequest) => void,
  oauth1?: Oauth1Credentials,
) {
  const { startEmulator } = await import("@ibauth/emulator/node");
  return startEmulator({
    port,
    host,
    ...(onRequest ? { onRequest } : {}),
    clients: [
      { clientId: DEMO.clientId, keys: { [DEMO.clientKeyId]: publicKeyPem }, credentials: [DEMO.credential] },
    ],
    ...(oauth1 ? { oauth1Consumers: [oauth1.consumer] } : {}),
    egressIp: DEMO.egressIp,
  });
}

function parsePort(text: string | undefined): number {
  const port = Number(text ?? 0);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be 0..65535 (got ${text})`);
  return port;
}

export function emulatorConfigYaml(url: string, privateKeyFile: string): string {
  return [
    `# ibauth emulator at ${url}`,
    `client_id: ${DEMO.clientId}`,
    `client_key_id: ${DEMO.clientKeyId}`,
    `credential: ${DEMO.credential}`,
    `private_key_file: ${JSON.stringify(privateKeyFile)}`,
    "domain: api.ibkr.com",
    `base_url: ${url}`,
    `ip_lookup_url: ${url}/__emulator/ip`,
    "",
  ].join("\n");
}

/**
 * The `oauth1:` config for the emulator's consumer, as a user writes it from the Self-Service Portal's
 * values (the access-token secret encrypted, as the portal shows it) and the two private key files.
 */
export function emulatorOauth1ConfigYaml(
  url: string,
  c: Oauth1Credentials["client"],
  files: { signature: string; encryption: string },
): string {
  return [
    `# ibauth emulator at ${url}, OAuth 1.0a`,
    "oauth1:",
    `  consumer_key: ${c.consumerKey}`,
    `  access_token: ${c.accessToken}`,
    `  access_token_secret: ${c.accessTokenSecret}`,
    `  signature_key_file: ${JSON.stringify(files.signature)}`,
    `  encryption_key_file: ${JSON.stringify(files.encryption)}`,
    `  dh_prime: ${c.dhPrime}`,
    `  realm: ${c.realm}`,
    "domain: api.ibkr.com",
    `base_url: ${url}`,
    "",
  ].join("\n");
}

/** The same consumer as `IBKR_OAUTH1_*` variables (`deno run --env-file`, `node --env-file`). */
export function emulatorOauth1Env(
  url: string,
  files: { signature: string; encryption: string },
  c: Oauth1Credentials["client"],
): string {
  return [
    `# ibauth emulator at ${url}, OAuth 1.0a`,
    `IBKR_OAUTH1_CONSUMER_KEY=${c.consumerKey}`,
    `IBKR_OAUTH1_ACCESS_TOKEN=${c.accessToken}`,
    `IBKR_OAUTH1_ACCESS_TOKEN_SECRET=${c.accessTokenSecret}`,
    `IBKR_OAUTH1_SIGNATURE_KEY_FILE=${files.signature}`,
    `IBKR_OAUTH1_ENCRYPTION_KEY_FILE=${files.encryption}`,
    `IBKR_OAUTH1_DH_PRIME=${c.dhPrime}`,
    `IBKR_OAUTH1_REALM=${c.realm}`,
    `IBKR_BASE_URL=${url}`,
    "",
  ].join("\n");
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

async function listen(
  ctx: CliContext,
  publicKeyPem: string,
  port: number,
  host: string,
  oauth1: Oauth1Credentials | undefined,
) {
  // One line per request: `09:12:03  POST /v1/api/tickle 429  (why)`, or a JSON line with --json.
  const log = ctx.options.log
    ? (request: ServedRequest) =>
        ctx.output.log(
          ctx.options.json
            ? JSON.stringify({ level: "info", time: Date.now(), msg: "request", ...request })
            : `${new Date().toTimeString().slice(0, 8)}  ${request.method} ${request.path} ${request.status || "dropped"}${request.reason ? `  (${request.reason})` : ""}`,
        )
    : undefined;
  try {
    return await startDemoEmulator(publicKeyPem, port, host, log, oauth1);
  } catch (error) {
    const inUse = (error as NodeJS.ErrnoException).code === "EADDRINUSE";
    throw localError(
      `listen on ${host}:${port}`,
      error,
      inUse ? "choose another --port (0 picks a free one)" : undefined,
    );
  }
}

/**
 * `ibauth emulator [--oauth1] [--port N] [--host ADDR] [--key FILE] [--out DIR] [--log]`: a local IBKR to
 * point the CLI or an app at. Listens first, so a port in use leaves no files behind; then prints a
 * config.yaml for it on stdout (also written to the output folder, a temp folder removed on exit
 * unless --out) and runs until SIGINT/SIGTERM. With --oauth1 it also registers an OAuth 1.0a consumer
 * made as the Self-Service Portal makes one, and the config.yaml is that consumer's `oauth1:` mapping.
 */
export async function emulatorCommand(ctx: CliContext): Promise<number> {
  const port = parsePort(ctx.options.port);
  const host = ctx.options.host ?? "127.0.0.1";
  let keyFile: string | undefined;
  let privateKeyPem: string | undefined;
  let publicKeyPem: string;
  if (ctx.options.key) {
    keyFile = resolve(ctx.options.key);
    await loadPrivateKeyFile(keyFile); // rejects unusable keys with the usual message
    publicKeyPem = createPublicKey(await readFile(keyFile, "utf8")).export({
      type: "spki",
      format: "pem",
    }) as string;
  } else {
    const keys = generateRsaKeys(parseBits(ctx.options.bits));
    privateKeyPem = keys.privateKeyPem;
    publicKeyPem = keys.publicKeyPem;
    ctx.output.note(`generated a ${keys.bits}-bit key in ${Math.round(keys.ms)} ms`);
  }
  let oauth1: Oauth1Credentials | undefined;
  if (ctx.options.oauth1) {
    const { generateOauth1Credentials } = await import("@ibauth/emulator/node");
    oauth1 = await generateOauth1Credentials({
      consumerKey: DEMO.consumerKey,
      credential: DEMO.oauth1Credential,
    });
  }
  const server = await listen(ctx, publicKeyPem, port, host, oauth1);
  if (!isLoopback(host))
    ctx.output.note(
      `WARNING: the emulator listens on ${host}, beyond this machine: anyone who can reach ${server.url} can drive its unauthenticated control endpoints. Use --host 127.0.0.1 unless you mean it.`,
    );
  const temporary = !ctx.options.out;
  let dir: string | undefined;
  try {
    dir = temporary ? await mkdtemp(join(tmpdir(), "ibauth-emulator-")) : resolve(ctx.options.out!);
    await mkdir(dir, { recursive: true }).catch((error) => {
      throw localError(`create the folder ${dir}`, error);
    });
    const privateKeyFile = keyFile ?? join(dir, "private_key.pem");
    if (privateKeyPem) await writeFile(privateKeyFile, privateKeyPem, { mode: 0o600 });
    let yaml = emulatorConfigYaml(server.url, privateKeyFile);
    if (oauth1) {
      // the file names of IBKR's OAuth 1.0a guide, as `ibauth keygen --oauth1` writes them
      const files = {
        signature: join(dir, "private_signature.pem"),
        encryption: join(dir, "private_encryption.pem"),
      };
      await writeFile(files.signature, oauth1.client.signatureKey, { mode: 0o600 });
      await writeFile(files.encryption, oauth1.client.encryptionKey, { mode: 0o600 });
      yaml = emulatorOauth1ConfigYaml(server.url, oauth1.client, files);
      await writeFile(join(dir, "oauth1.env"), emulatorOauth1Env(server.url, files, oauth1.client), {
        mode: 0o600,
      });
    }
    const configFile = join(dir, "config.yaml");
    await writeFile(configFile, yaml, { mode: 0o600 });
    if (ctx.options.json)
      process.stdout.write(
        `${JSON.stringify({ ok: true, command: "emulator", mode: oauth1 ? "oauth1" : "oauth2", url: server.url, configFile, ...(oauth1 ? {} : { privateKeyFile }), temporary })}\n`,
      );
    else process.stdout.write(yaml);
    ctx.output.note(`config written to ${configFile}; try: ibauth --config ${configFile}`);
    ctx.output.note(
      `emulator running at ${server.url}; Ctrl-C stops it${temporary ? ` and removes ${dir}` : ""}`,
    );
    await new Promise<void>((done) => {
      process.once("SIGINT", done);
      process.once("SIGTERM", done);
    });
  } finally {
    await server.close();
    if (temporary && dir) await rm(dir, { recursive: true, force: true });
    const requests = Object.values(server.emulator.counts() as Record<string, number>).reduce(
      (a, b) => a + b,
      0,
    );
    ctx.output.note(
      `emulator stopped after ${requests} request${requests === 1 ? "" : "s"}${temporary && dir ? `; removed ${dir}` : ""}`,
    );
  }
  return 0;
}
