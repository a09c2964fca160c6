import { IbauthError } from "@ibauth/core";

/** An AES-GCM sealed value as stored in KV: base64 IV and ciphertext (with its tag). */
export interface Sealed {
  alg: "AES-GCM";
  iv: string;
  data: string;
}

/**
 * Turns the user's key into a non-extractable AES-GCM CryptoKey. Raw keys are 16 or 32 bytes, given
 * as bytes or as base64 text (e.g. from an env var: `openssl rand -base64 32`).
 */
export async function importSealKey(key: CryptoKey | Uint8Array | string): Promise<CryptoKey> {
  if (typeof key === "object" && "algorithm" in key) {
    if (key.algorithm.name !== "AES-GCM") throw keyError(`a ${key.algorithm.name} CryptoKey`);
    return key;
  }
  let raw: Uint8Array;
  try {
    raw = typeof key === "string" ? fromBase64(key.trim()) : key;
  } catch {
    throw keyError("text that is not base64");
  }
  if (raw.length !== 16 && raw.length !== 32) throw keyError(`${raw.length} bytes`);
  return await crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}

/**
 * An HMAC key for naming records, derived (HKDF) from the raw encryption key, so the KV key of a session
 * cannot be recomputed from a guessed username without the secret. A CryptoKey given as is cannot be
 * derived from: then undefined, and the name is an unkeyed hash.
 */
export async function namingKeyFor(key: CryptoKey | Uint8Array | string): Promise<CryptoKey | undefined> {
  if (typeof key === "object" && "algorithm" in key) return undefined;
  const raw = typeof key === "string" ? fromBase64(key.trim()) : key;
  const master = await crypto.subtle.importKey("raw", raw as Uint8Array<ArrayBuffer>, "HKDF", false, [
    "deriveKey",
  ]);
  return await crypto.subtle.deriveKey(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: new Uint8Array(0),
      info: new TextEncoder().encode("ibauth/deno-kv/name/v1"),
    },
    master,
    { name: "HMAC", hash: "SHA-256", length: 256 },
    false,
    ["sign"],
  );
}

function keyError(got: string): IbauthError {
  return new IbauthError(
    `the store encryption key must be 16 or 32 random bytes (or their base64), not ${got}`,
    {
      code: "ERR_CONFIG",
      step: "config",
      field: "encryptionKey",
      hint: "make one with: openssl rand -base64 32",
    },
  );
}

/** `context` is authenticated but not stored: a record sealed for one KV key does not open under another. */
export async function seal(key: CryptoKey, plain: string, context: string): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
    key,
    new TextEncoder().encode(plain),
  );
  return { alg: "AES-GCM", iv: toBase64(iv), data: toBase64(new Uint8Array(data)) };
}

/** The plain text, or undefined when the value is not ours, was tampered with, or used another key. */
export async function unseal(key: CryptoKey, value: unknown, context: string): Promise<string | undefined> {
  if (!isSealed(value)) return undefined;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64(value.iv), additionalData: new TextEncoder().encode(context) },
      key,
      fromBase64(value.data),
    );
    return new TextDecoder().decode(plain);
  } catch {
    return undefined;
  }
}

export function isSealed(value: unknown): value is Sealed {
  const v = value as Partial<Sealed> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    v.alg === "AES-GCM" &&
    typeof v.iv === "string" &&
    typeof v.data === "string"
  );
}

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
