import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type RunningEmulator, type StartEmulatorOptions, startEmulator } from "@ibauth/emulator/node";
import { afterAll, expect } from "vitest";

export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), "../dist/cli.js");

/** Canary values: if any of these shows up in output, a secret leaked. */
export const CANARY_CREDENTIAL = "canary-user-5f1e9b";
export const CLIENT_ID = "node-test-client";

export interface TestKeys {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** 2048 bits keeps the suite fast; the demo and keygen cover 3072. */
export function makeKeys(bits = 2048): TestKeys {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) as string,
  };
}

/** Middle lines of the PEM body: any of them in output means the key leaked. */
export function keyCanaries(pem: string): string[] {
  return pem
    .split("\n")
    .filter((l) => l.length >= 60 && !l.startsWith("-----"))
    .slice(1, 4);
}

const created: string[] = [];

/** A fresh folder, removed when the test file ends. */
export function tempDir(prefix = "ibauth-node-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
});

export async function startTestEmulator(
  publicKeyPem: string,
  options: Partial<StartEmulatorOptions> = {},
): Promise<RunningEmulator> {
  return startEmulator({
    clients: [{ clientId: CLIENT_ID, keys: { main: publicKeyPem }, credentials: [CANARY_CREDENTIAL] }],
    ...options,
  });
}

export interface Workspace {
  dir: string;
  config: string;
  keyFile: string;
  cacheDir: string;
}

/** A folder with a key file (0600) and a config.yaml pointing at `url`; `extra` lines are appended. */
export function writeWorkspace(keys: TestKeys, url: string, extra: Record<string, string> = {}): Workspace {
  const dir = tempDir();
  const keyFile = join(dir, "key.pem");
  writeFileSync(keyFile, keys.privateKeyPem, { mode: 0o600 });
  const config = join(dir, "config.yaml");
  const fields: Record<string, string> = {
    client_id: CLIENT_ID,
    client_key_id: "main",
    credential: CANARY_CREDENTIAL,
    private_key_file: "key.pem",
    domain: "api.ibkr.com",
    base_url: url,
    ip_lookup_url: `${url}/__emulator/ip`,
    ...extra,
  };
  writeFileSync(
    config,
    `${Object.entries(fields)
      .map(([k, v]) => `${k}: ${v}`)
      .join("\n")}\n`,
  );
  return { dir, config, keyFile, cacheDir: join(dir, "cache") };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI as a child process. Async on purpose: the emulator serves from this process. */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; cacheDir?: string } = {},
): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? tmpdir(),
      env: { PATH: process.env.PATH ?? "", XDG_CACHE_HOME: options.cacheDir ?? tempDir(), ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** Nothing secret, and no stack trace, anywhere in the output. */
export function expectClean(result: CliResult, secrets: string[]): void {
  const all = result.stdout + result.stderr;
  for (const secret of secrets) expect(all).not.toContain(secret);
  expect(all).not.toMatch(/\n\s+at .+:\d+:\d+/);
}
