// `ibauth keygen --oauth1`: the five files IBKR's OAuth 1.0a guide makes with openssl (two 2048-bit RSA
// pairs and dhparam.pem), and what to do with them in the Self-Service Portal.
import { generatePrime, getDiffieHellman } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { CliContext } from "./context";
import { localError, UsageError } from "./failure";
import { generateRsaKeys, writeNew } from "./keygen";
import { formatMs } from "./output";

/** IBKR's guide: `openssl genrsa 2048` for both pairs, `openssl dhparam 2048`. */
const BITS = 2048;
const DH_GENERATOR = 2n;

const FILES = {
  signaturePrivate: "private_signature.pem",
  signaturePublic: "public_signature.pem",
  encryptionPrivate: "private_encryption.pem",
  encryptionPublic: "public_encryption.pem",
  dhParams: "dhparam.pem",
} as const;

function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n >>= 8) bytes.unshift(n & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function derInteger(value: bigint): number[] {
  const hex = value.toString(16);
  const bytes = [...Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex")];
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0); // a positive INTEGER never starts with the sign bit
  return [0x02, ...derLength(bytes.length), ...bytes];
}

/** PKCS#3 DHParameter { prime, base } as PEM, the "DH PARAMETERS" block `openssl dhparam` writes. */
export function dhParamsPem(prime: bigint, generator: bigint): string {
  const body = [...derInteger(prime), ...derInteger(generator)];
  const der = Buffer.from([0x30, ...derLength(body.length), ...body]).toString("base64");
  return `-----BEGIN DH PARAMETERS-----\n${der.match(/.{1,64}/g)?.join("\n")}\n-----END DH PARAMETERS-----\n`;
}

/** A new safe 2048-bit prime on libuv's thread pool, with a note every 15 s so a long search shows life. */
async function safePrime(ctx: CliContext): Promise<bigint> {
  const started = performance.now();
  ctx.output.note(
    "searching a new safe 2048-bit prime for dhparam.pem, as `openssl dhparam 2048` does: this takes from seconds to several minutes (--modp uses RFC 3526's group at once)",
  );
  const ticker = setInterval(
    () => ctx.output.note(`still searching for a safe prime (${formatMs(performance.now() - started)})`),
    15_000,
  );
  try {
    return await new Promise<bigint>((done, fail) =>
      generatePrime(BITS, { safe: true, bigint: true }, (error, prime) =>
        error ? fail(error) : done(prime),
      ),
    );
  } finally {
    clearInterval(ticker);
  }
}

export async function keygenOAuth1(ctx: CliContext): Promise<void> {
  if (ctx.options.bits !== undefined)
    throw new UsageError(
      "--bits does not apply to --oauth1: IBKR's OAuth 1.0a keys are 2048-bit RSA",
      "keygen",
    );
  const out = ctx.output;
  const dir = resolve(ctx.options.out ?? ".");
  const path = (name: string) => join(dir, name);
  const existing = Object.values(FILES)
    .map(path)
    .find((f) => existsSync(f));
  if (existing && !ctx.options.force)
    throw new UsageError(`${existing} already exists; pass --force to replace it or choose another --out`);
  await mkdir(dir, { recursive: true }).catch((error) => {
    throw localError(`create the folder ${dir}`, error);
  });
  const started = performance.now();
  const signature = await out.step(
    "signature key",
    async () => generateRsaKeys(BITS),
    () => `RSA ${BITS}-bit`,
  );
  const encryption = await out.step(
    "encryption key",
    async () => generateRsaKeys(BITS),
    () => `RSA ${BITS}-bit`,
  );
  const prime = await out.step(
    "DH prime",
    async () =>
      ctx.options.modp ? BigInt(`0x${getDiffieHellman("modp14").getPrime("hex")}`) : safePrime(ctx),
    () =>
      ctx.options.modp
        ? "RFC 3526 group 14 (2048-bit MODP), generator 2"
        : "new safe 2048-bit prime, generator 2",
  );
  const force = ctx.options.force;
  await writeNew(path(FILES.signaturePrivate), signature.privateKeyPem, 0o600, force);
  await writeNew(path(FILES.signaturePublic), signature.publicKeyPem, 0o644, force);
  await writeNew(path(FILES.encryptionPrivate), encryption.privateKeyPem, 0o600, force);
  await writeNew(path(FILES.encryptionPublic), encryption.publicKeyPem, 0o644, force);
  await writeNew(path(FILES.dhParams), dhParamsPem(prime, DH_GENERATOR), 0o644, force);

  const line = (text: string) => out.line(text);
  line(`  signing         ${path(FILES.signaturePrivate)}  (mode 0600: keep it here, never send it)`);
  line(`                  ${path(FILES.signaturePublic)}`);
  line(`  encryption      ${path(FILES.encryptionPrivate)}  (mode 0600: keep it here, never send it)`);
  line(`                  ${path(FILES.encryptionPublic)}`);
  line(`  DH parameters   ${path(FILES.dhParams)}`);
  line("");
  line("In IBKR's Self-Service Portal, OAuth 1.0a page (log in with the username that will trade):");
  line("  1. Consumer key: choose 9 letters A-Z and press Save Key.");
  line(`  2. Upload ${FILES.signaturePublic} as the public signing key, ${FILES.encryptionPublic} as the`);
  line(
    `     public encryption key and ${FILES.dhParams} as the Diffie-Hellman parameters (public files only).`,
  );
  line("  3. Press Generate Token and copy the access token and the access token secret at once:");
  line("     the portal shows them only this time.");
  line("  4. Turn on Enable OAuth Access. New keys can take until the next day to work.");
  line("  5. Write config.yaml:");
  line("       oauth1:");
  line("         consumer_key: <the 9 letters you chose>");
  line("         access_token: <from the portal>");
  line("         access_token_secret: <from the portal: the encrypted base64, exactly as shown>");
  line(`         signature_key_file: ${path(FILES.signaturePrivate)}`);
  line(`         encryption_key_file: ${path(FILES.encryptionPrivate)}`);
  line(`         dh_param_file: ${path(FILES.dhParams)}`);
  line("  6. Run `ibauth check` (it decrypts the secret offline), then `ibauth` to log in.");
  out.done(`OAuth 1.0a files written in ${formatMs(performance.now() - started)}`, {
    command: "keygen",
    mode: "oauth1",
    signatureKeyFile: path(FILES.signaturePrivate),
    signaturePublicKeyFile: path(FILES.signaturePublic),
    encryptionKeyFile: path(FILES.encryptionPrivate),
    encryptionPublicKeyFile: path(FILES.encryptionPublic),
    dhParamFile: path(FILES.dhParams),
    dhGroup: ctx.options.modp ? "rfc3526-modp-2048" : "generated",
  });
}
