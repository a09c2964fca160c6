import { IbauthError, type Logger, undecryptableProblem } from "@ibauth/core";
import { looksRandom } from "./key-strength";

const text = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

export function fromBase64(value: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const binary = atob(value.trim());
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

function hex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Keys derived from IBAUTH_SESSION_KEY: one encrypts records, one names them (so a KV key leaks nothing). */
export interface SessionKeys {
  record: CryptoKey;
  naming: CryptoKey;
}

/**
 * Reads IBAUTH_SESSION_KEY (base64 of 32 random bytes) and derives two non-extractable keys with HKDF,
 * so the same secret never serves two purposes. Throws ERR_CONFIG without echoing the value.
 */
export async function deriveSessionKeys(base64Key: string): Promise<SessionKeys> {
  const raw = fromBase64(base64Key);
  if (raw?.length !== 32) {
    throw new IbauthError("IBAUTH_SESSION_KEY must be base64 of exactly 32 bytes", {
      code: "ERR_CONFIG",
      step: "config",
      field: "IBAUTH_SESSION_KEY",
      hint: "generate one with `openssl rand -base64 32` and set it with `wrangler secret put IBAUTH_SESSION_KEY`",
    });
  }
  if (!looksRandom(raw)) {
    throw new IbauthError("IBAUTH_SESSION_KEY is not random (too few distinct bytes)", {
      code: "ERR_CONFIG",
      step: "config",
      field: "IBAUTH_SESSION_KEY",
      hint: "generate one with `openssl rand -base64 32`",
    });
  }
  const master = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
  const derive = (info: string, algorithm: AesKeyGenParams | HmacKeyGenParams, usages: KeyUsage[]) =>
    crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: text.encode(info) },
      master,
      algorithm,
      false,
      usages,
    );
  const [record, naming] = await Promise.all([
    derive("ibauth/kv/record/v1", { name: "AES-GCM", length: 256 }, ["encrypt", "decrypt"]),
    derive("ibauth/kv/name/v1", { name: "HMAC", hash: "SHA-256", length: 256 }, ["sign"]),
  ]);
  return { record, naming };
}

export async function hmacHex(key: CryptoKey, value: string): Promise<string> {
  return hex(await crypto.subtle.sign("HMAC", key, text.encode(value)));
}

const SEALED_PREFIX = "ibauth-aesgcm-v1:";

/** AES-256-GCM with a fresh random 12-byte IV per write; `aad` binds the ciphertext to its KV key. */
export async function seal(key: CryptoKey, plaintext: string, aad: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: text.encode(aad) },
    key,
    text.encode(plaintext),
  );
  return `${SEALED_PREFIX}${toBase64(iv)}.${toBase64(new Uint8Array(sealed))}`;
}

/** The plaintext, or undefined for anything that is not a record sealed with this key under this name. */
export async function open(key: CryptoKey, value: string, aad: string): Promise<string | undefined> {
  if (!value.startsWith(SEALED_PREFIX)) return undefined;
  const [ivText, dataText] = value.slice(SEALED_PREFIX.length).split(".");
  const iv = ivText === undefined ? undefined : fromBase64(ivText);
  const data = dataText === undefined ? undefined : fromBase64(dataText);
  if (iv?.length !== 12 || !data) return undefined;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: text.encode(aad) },
      key,
      data,
    );
    return new TextDecoder().decode(plain);
  } catch {
    return undefined;
  }
}

export function isSealed(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}

/**
 * Compares a presented secret with the expected one in time independent of where they differ: both are
 * hashed first, so the loop always runs over 32 bytes whatever the lengths.
 */
export async function timingSafeEqualText(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", text.encode(presented)),
    crypto.subtle.digest("SHA-256", text.encode(expected)),
  ]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Per record name, the unreadable value last warned about in this isolate: every read of it would warn again. */
const warnedValues = new Map<string, string>();

/**
 * A stored session record's plaintext, or undefined (with one warning naming the kind) when it is not
 * sealed with this key under this name: the caller then treats the session as missing. The core judges
 * the plaintext itself (corrupt, another version, another owner).
 */
export async function openRecord(
  key: CryptoKey,
  value: string,
  aad: string,
  logger: Logger,
  store: string,
): Promise<string | undefined> {
  const plain = await open(key, value, aad);
  if (plain !== undefined) {
    warnedValues.delete(aad);
    return plain;
  }
  if (warnedValues.get(aad) === value) return undefined;
  warnedValues.set(aad, value);
  const kind = isSealed(value) ? "undecryptable" : "corrupt";
  logger.warn(
    { store, record: kind },
    `stored session ${kind === "corrupt" ? "corrupt: not encrypted" : undecryptableProblem("IBAUTH_SESSION_KEY")}; ignoring it, the next call logs in again`,
  );
  return undefined;
}
