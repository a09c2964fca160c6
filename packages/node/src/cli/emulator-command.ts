import { createPublicKey } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { ServedRequest } from "@ibauth/emulator/node";
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
} as const;

export async function startDemoEmulator(
  publicKeyPem: string,
  port = 0,
  host = "127.0.0.1",
  onRequest?: (request: ServedRequest) => void,
) {
  const { startEmulator } = await import("@ibauth/emulator/node");
  return startEmulator({
    port,
    host,
    ...(onRequest ? { onRequest } : {}),
    clients: [
      { clientId: DEMO.clientId, keys: { [DEMO.clientKeyId]: publicKeyPem }, credentials: [DEMO.credential] },
    ],
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

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

async function listen(ctx: CliContext, publicKeyPem: string, port: number, host: string) {
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
    return await startDemoEmulator(publicKeyPem, port, host, log);
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
 * `ibauth emulator [--port N] [--host ADDR] [--key FILE] [--out DIR] [--log]`: a local IBKR to point
 * the CLI or an app at. Listens first, so a port in use leaves no files behind; then prints a
 * config.yaml for it on stdout (also written to the output folder, a temp folder removed on exit
 * unless --out) and runs until SIGINT/SIGTERM.
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
  const server = await listen(ctx, publicKeyPem, port, host);
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
    const yaml = emulatorConfigYaml(server.url, privateKeyFile);
    const configFile = join(dir, "config.yaml");
    await writeFile(configFile, yaml, { mode: 0o600 });
    if (ctx.options.json)
      process.stdout.write(
        `${JSON.stringify({ ok: true, command: "emulator", url: server.url, configFile, privateKeyFile, temporary })}\n`,
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
