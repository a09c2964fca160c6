import { createHash, createPrivateKey, createPublicKey, type KeyObject, webcrypto } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { IbauthError } from "@ibauth/core";

/** What `ibauth check` reports about a private key. Nothing here is secret. */
export interface KeyInfo {
  type: "rsa";
  bits: number;
  format: "PKCS#1" | "PKCS#8";
  /** SHA-256 of the public key's SPKI DER, hex: compare it with the key registered at IBKR. */
  fingerprint: string;
  /** File mode (e.g. "0600") when the key came from a file. */
  mode?: string;
  warnings: string[];
}

export interface LoadedKey {
  /** Non-extractable RS256 signing key, ready for `new IBAuth({ privateKey })`. */
  cryptoKey: CryptoKey;
  info: KeyInfo;
}

const MIN_BITS = 2048;
const RECOMMENDED_BITS = 3072;

function keyError(where: string, message: string, hint?: string): IbauthError {
  return new IbauthError(`${where}: ${message}`, { code: "ERR_KEY", step: "key", ...(hint ? { hint } : {}) });
}

/**
 * Picks the private-key PEM block out of `text` and rejects, with the fix, every kind of file people
 * put there by mistake. `where` names the source (a path or an env variable) in messages; the key
 * text itself never appears in one.
 */
function privateKeyBlock(text: string, where: string): { pem: string; format: KeyInfo["format"] } {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(text) || /Proc-Type:\s*4,\s*ENCRYPTED/i.test(text)) {
    throw keyError(
      where,
      "the private key is encrypted (passphrase-protected)",
      "ibauth needs an unencrypted key; decrypt a copy with `openssl pkey -in key.pem -out key-plain.pem` and keep it mode 0600",
    );
  }
  if (/-----BEGIN EC PRIVATE KEY-----/.test(text)) {
    throw keyError(
      where,
      "this is an EC key; IBKR signs with RS256, which needs an RSA key",
      "create one with `ibauth keygen`",
    );
  }
  const pkcs8 = text.match(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/);
  const pkcs1 = text.match(/-----BEGIN RSA PRIVATE KEY-----[\s\S]+?-----END RSA PRIVATE KEY-----/);
  if (pkcs8) return { pem: pkcs8[0], format: "PKCS#8" };
  if (pkcs1) return { pem: pkcs1[0], format: "PKCS#1" };
  if (/-----BEGIN (RSA )?PUBLIC KEY-----/.test(text)) {
    throw keyError(
      where,
      "this is a public key, but a private key belongs here",
      "point private_key_file at the private key; the public key is the one you register with IBKR",
    );
  }
  if (/-----BEGIN CERTIFICATE-----/.test(text)) {
    throw keyError(
      where,
      "this is a certificate, but a private key belongs here",
      "point private_key_file at the RSA private key",
    );
  }
  if (/-----BEGIN /.test(text)) {
    throw keyError(
      where,
      "no RSA private key found in this PEM file",
      "expected BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY",
    );
  }
  throw keyError(where, "not a PEM file", "expected text starting with -----BEGIN PRIVATE KEY-----");
}

/** SHA-256 of the SPKI DER of the public half, as lowercase hex pairs joined by ':'. */
export function publicKeyFingerprint(key: KeyObject): string {
  const spki = (key.type === "public" ? key : createPublicKey(key)).export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("hex").match(/../g)!.join(":");
}

/** Validates PEM text as an RSA private key for RS256 and imports it as a non-extractable CryptoKey. */
export async function loadPrivateKey(text: string, where: string): Promise<LoadedKey> {
  // Environment variables often carry PEM with literal "\n" sequences.
  const normalized = text.includes("\\n") && !text.includes("\n") ? text.replace(/\\n/g, "\n") : text;
  const { pem, format } = privateKeyBlock(normalized, where);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch {
    throw keyError(
      where,
      "the private key could not be parsed (damaged or truncated PEM)",
      "re-export it, or create a new one with `ibauth keygen`",
    );
  }
  if (key.asymmetricKeyType !== "rsa") {
    throw keyError(
      where,
      `this is an ${key.asymmetricKeyType} key; IBKR signs with RS256, which needs an RSA key`,
      "create one with `ibauth keygen`",
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_BITS) {
    throw keyError(
      where,
      `the RSA key has ${bits} bits; at least ${MIN_BITS} are required`,
      "create a new one with `ibauth keygen`",
    );
  }
  const warnings: string[] = [];
  if (bits < RECOMMENDED_BITS)
    warnings.push(`the key has ${bits} bits; ${RECOMMENDED_BITS} or more is recommended`);
  const der = key.export({ type: "pkcs8", format: "der" });
  const cryptoKey = await webcrypto.subtle.importKey(
    "pkcs8",
    der,
    { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return {
    cryptoKey: cryptoKey as CryptoKey,
    info: { type: "rsa", bits, format, fingerprint: publicKeyFingerprint(key), warnings },
  };
}

/** Reads and validates a private-key file; warns when group or others can read it. */
export async function loadPrivateKeyFile(path: string): Promise<LoadedKey> {
  let text: string;
  let mode: number;
  try {
    [text, mode] = await Promise.all([readFile(path, "utf8"), stat(path).then((s) => s.mode)]);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "no such file"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "is a directory"
            : (code ?? "unreadable");
    throw keyError(path, `cannot read the private key file (${reason})`, "check private_key_file");
  }
  const loaded = await loadPrivateKey(text, path);
  loaded.info.mode = `0${(mode & 0o777).toString(8)}`;
  if (mode & 0o077)
    loaded.info.warnings.push(
      `the key file is readable by group or others (mode ${loaded.info.mode}); run chmod 600 ${path}`,
    );
  return loaded;
}
