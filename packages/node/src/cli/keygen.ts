import { generateKeyPairSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { IbauthError } from "@ibauth/core";
import { publicKeyFingerprint } from "../keys";
import type { CliContext } from "./context";
import { localError, UsageError } from "./failure";
import { formatMs } from "./output";

export interface RsaKeys {
  privateKeyPem: string;
  publicKeyPem: string;
  fingerprint: string;
  bits: number;
  ms: number;
}

/** node:crypto is several times faster than WebCrypto for RSA key generation. */
export function generateRsaKeys(bits: number): RsaKeys {
  const started = performance.now();
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }) as string,
    fingerprint: publicKeyFingerprint(publicKey),
    bits,
    ms: performance.now() - started,
  };
}

export function parseBits(text: string | undefined): number {
  const bits = Number(text ?? 3072);
  if (!Number.isInteger(bits) || bits < 2048 || bits > 8192 || bits % 8 !== 0) {
    throw new UsageError(`--bits must be a multiple of 8 from 2048 to 8192 (got ${text})`);
  }
  return bits;
}

const PRIVATE_NAME = "private_key.pem";
const PUBLIC_NAME = "public_key.pem";

export async function writeNew(path: string, text: string, mode: number, force: boolean): Promise<void> {
  try {
    await writeFile(path, text, { mode, flag: force ? "w" : "wx" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST")
      throw new UsageError(`${path} already exists; pass --force to replace it or choose another --out`);
    throw new IbauthError(`cannot write ${path} (${code})`, {
      code: "ERR_KEY",
      step: "key",
      hint: "choose a writable --out folder",
      cause: error,
    });
  }
}

/** `ibauth keygen [--out DIR] [--bits 3072]`: a new RSA key pair and how to register it (`--oauth1`: keygen-oauth1.ts). */
export async function keygenCommand(ctx: CliContext): Promise<void> {
  if (ctx.options.modp)
    throw new UsageError("--modp chooses the DH group of `keygen --oauth1`; add --oauth1", "keygen");
  const bits = parseBits(ctx.options.bits);
  const dir = resolve(ctx.options.out ?? ".");
  const privateFile = join(dir, PRIVATE_NAME);
  const publicFile = join(dir, PUBLIC_NAME);
  const existing = [privateFile, publicFile].find((f) => existsSync(f));
  if (existing && !ctx.options.force)
    throw new UsageError(`${existing} already exists; pass --force to replace it or choose another --out`);
  await mkdir(dir, { recursive: true }).catch((error) => {
    throw localError(`create the folder ${dir}`, error);
  });
  const keys = await ctx.output.step(
    "generate key",
    async () => generateRsaKeys(bits),
    (k) => `RSA ${k.bits}-bit`,
  );
  await writeNew(privateFile, keys.privateKeyPem, 0o600, ctx.options.force);
  await writeNew(publicFile, keys.publicKeyPem, 0o644, ctx.options.force);
  ctx.output.line(`  private key   ${privateFile}  (mode 0600: keep it here, never send it)`);
  ctx.output.line(`  public key    ${publicFile}`);
  ctx.output.line(`  fingerprint   ${keys.fingerprint}  (SHA-256 of the public key, SPKI DER)`);
  ctx.output.line("");
  ctx.output.line("Register the public key with IBKR:");
  ctx.output.line(
    `  1. Send ${PUBLIC_NAME} (only the public key) to IBKR API Integration for your OAuth 2.0 client.`,
  );
  ctx.output.line(
    '  2. IBKR answers with your client_id and the key id (client_key_id; "main" for the first key).',
  );
  ctx.output.line("  3. Write config.yaml:");
  ctx.output.line("       client_id: <from IBKR>");
  ctx.output.line("       client_key_id: main");
  ctx.output.line("       credential: <your IBKR username; the paper username for a paper account>");
  ctx.output.line(`       private_key_file: ${privateFile}`);
  ctx.output.line("       domain: api.ibkr.com");
  ctx.output.line("  4. Run `ibauth check`, then `ibauth` to log in.");
  ctx.output.done(`key pair written in ${formatMs(keys.ms)}`, {
    command: "keygen",
    privateKeyFile: privateFile,
    publicKeyFile: publicFile,
    bits,
    fingerprint: keys.fingerprint,
  });
}
