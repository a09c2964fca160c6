import { createPublicKey } from "node:crypto";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadPrivateKeyFile } from "../keys";
import type { CliContext } from "./context";
import { UsageError } from "./failure";
import { generateRsaKeys, parseBits } from "./keygen";

/** The emulator's one registered client (its data is fake, so none of this is secret). */
export const DEMO = {
  clientId: "demo-client",
  clientKeyId: "main",
  credential: "demouser",
  egressIp: "203.0.113.10",
} as const;

export async function startDemoEmulator(publicKeyPem: string, port = 0, host = "127.0.0.1") {
  const { startEmulator } = await import("@ibauth/emulator/node");
  return startEmulator({
    port,
    host,
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

/**
 * `ibauth emulator [--port N] [--key FILE] [--out DIR]`: a local IBKR to point the CLI or an app
 * at. Prints a config.yaml for it on stdout (also written to the output folder) and runs until
 * SIGINT/SIGTERM.
 */
export async function emulatorCommand(ctx: CliContext): Promise<number> {
  const port = parsePort(ctx.options.port);
  const dir = ctx.options.out ? resolve(ctx.options.out) : await mkdtemp(join(tmpdir(), "ibauth-emulator-"));
  await mkdir(dir, { recursive: true });
  let privateKeyFile: string;
  let publicKeyPem: string;
  if (ctx.options.key) {
    privateKeyFile = resolve(ctx.options.key);
    await loadPrivateKeyFile(privateKeyFile); // rejects unusable keys with the usual message
    publicKeyPem = createPublicKey(await readFile(privateKeyFile, "utf8")).export({
      type: "spki",
      format: "pem",
    }) as string;
  } else {
    const keys = generateRsaKeys(parseBits(ctx.options.bits));
    privateKeyFile = join(dir, "private_key.pem");
    publicKeyPem = keys.publicKeyPem;
    await writeFile(privateKeyFile, keys.privateKeyPem, { mode: 0o600 });
    ctx.output.note(`generated a ${keys.bits}-bit key in ${Math.round(keys.ms)} ms: ${privateKeyFile}`);
  }
  const server = await startDemoEmulator(publicKeyPem, port, ctx.options.host ?? "127.0.0.1");
  const yaml = emulatorConfigYaml(server.url, privateKeyFile);
  const configFile = join(dir, "config.yaml");
  await writeFile(configFile, yaml, { mode: 0o600 });
  if (ctx.options.json)
    process.stdout.write(
      `${JSON.stringify({ ok: true, command: "emulator", url: server.url, configFile, privateKeyFile })}\n`,
    );
  else process.stdout.write(yaml);
  ctx.output.note(`config written to ${configFile}; try: ibauth --config ${configFile}`);
  ctx.output.note("emulator running; Ctrl-C stops it");
  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  await server.close();
  return 0;
}
