// OAuth 1.0a signatures as IBKR checks them: the signature base string of RFC 5849 §3.4.1 (with IBKR's
// "prepend" on the live-session-token request), RSA-SHA256 for that request, HMAC-SHA256 keyed by the
// live session token for every other one, and the Authorization header of §3.5.1.
import { bytesToHex } from "./bigint";

/** RFC 5849 §3.6: everything but ALPHA, DIGIT, "-", ".", "_" and "~" as %XX of the UTF-8 bytes. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

/**
 * The signature base string: METHOD & enc(scheme://host[:port]/path) & enc(sorted, encoded parameters).
 * The parameters are the oauth_* (and diffie_hellman_challenge) pairs plus the URL's query pairs
 * (§3.4.1.3.1; realm and oauth_signature excluded). `prepend` leads, for the LST request only.
 */
export function signatureBaseString(
  method: string,
  url: URL,
  params: Record<string, string>,
  prepend = "",
): string {
  const pairs: [string, string][] = [];
  for (const [k, v] of Object.entries(params)) pairs.push([percentEncode(k), percentEncode(v)]);
  for (const [k, v] of url.searchParams) pairs.push([percentEncode(k), percentEncode(v)]);
  pairs.sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const normalized = pairs.map(([k, v]) => `${k}=${v}`).join("&");
  // URL already lower-cases scheme and host and drops a default port (§3.4.1.2)
  const uri = `${url.protocol}//${url.host}${url.pathname}`;
  return `${prepend}${method.toUpperCase()}&${percentEncode(uri)}&${percentEncode(normalized)}`;
}

const encoder = new TextEncoder();

/** RSASSA-PKCS1-v1_5 SHA-256 over the base string, base64 (the key comes from importPrivateKey). */
export async function rsaSha256Signature(key: CryptoKey, base: string): Promise<string> {
  const sig = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, encoder.encode(base));
  return bytesToBase64(new Uint8Array(sig));
}

function hmacKey(hash: "SHA-1" | "SHA-256", key: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", key as BufferSource, { name: "HMAC", hash }, false, ["sign"]);
}

async function hmac(hash: "SHA-1" | "SHA-256", key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(hash, key), message as BufferSource));
}

/** The LST as a non-extractable HMAC-SHA256 key: imported once per LST, not per request. */
export function requestSigningKey(lst: Uint8Array): Promise<CryptoKey> {
  return hmacKey("SHA-256", lst);
}

/** HMAC-SHA256 over the base string keyed by the LST, base64. */
export async function hmacSha256Signature(key: CryptoKey, base: string): Promise<string> {
  return bytesToBase64(new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(base))));
}

export function hmacSha1(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  return hmac("SHA-1", key, message);
}

/** `OAuth realm="…", k="v", …`: realm first (as ibind sends it), then the keys sorted, values encoded. */
export function authorizationHeader(params: Record<string, string>, realm: string): string {
  const pairs = Object.keys(params)
    .sort()
    .map((k) => `${percentEncode(k)}="${percentEncode(params[k] as string)}"`);
  return `OAuth realm="${percentEncode(realm)}", ${pairs.join(", ")}`;
}

/** 128 random bits as hex, as IBKR's samples make the nonce. */
export function oauthNonce(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
}
