// The OAuth 1.0a arithmetic IBKR performs, written independently of the SDK's (a bug shared by client and
// emulator would otherwise pass every test): the Authorization header, the two signature base strings
// IBKR accepts, Diffie-Hellman on BigInt and the live session token.

import { randomHex } from "./random.js";

/** RFC 5849 §3.6 percent-encoding. */
export function rfcEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Python's urllib.parse.quote_plus, which ibind (and IBKR's samples) apply: space becomes "+". */
function quotePlus(value: string): string {
  return rfcEncode(value).replace(/%20/g, "+");
}

/** Parses `OAuth realm="…", k="v", …` (RFC 5849 §3.5.1); values are percent-decoded. Undefined if malformed. */
export function parseOAuthHeader(header: string | null): Map<string, string> | undefined {
  const m = /^\s*OAuth\s+(.*)$/is.exec(header ?? "");
  if (!m) return undefined;
  const params = new Map<string, string>();
  const pair = /\s*([A-Za-z0-9_.~%-]+)="([^"]*)"\s*(,|$)/y;
  const rest = (m[1] as string).trim();
  pair.lastIndex = 0;
  while (pair.lastIndex < rest.length) {
    const at = pair.lastIndex;
    const p = pair.exec(rest);
    if (!p || p.index !== at) return undefined;
    const [, key, value] = p as unknown as [string, string, string];
    try {
      const name = decodeURIComponent(key);
      if (params.has(name)) return undefined; // a repeated parameter is ambiguous: refuse it
      params.set(name, decodeURIComponent(value));
    } catch {
      return undefined;
    }
  }
  return params;
}

/**
 * The base strings a request may have been signed over: for each origin the caller may have used,
 * RFC 5849 §3.4.1 (query pairs in the sorted list, each pair encoded) and ibind's form (the bare URL,
 * only the OAuth pairs, joined unencoded and then quote_plus'ed as a whole).
 */
export function candidateBaseStrings(
  method: string,
  url: URL,
  origins: string[],
  oauth: Map<string, string>,
  prepend = "",
): string[] {
  const own = [...oauth].filter(([k]) => k !== "realm" && k !== "oauth_signature");
  const rfcPairs = [...own, ...url.searchParams]
    .map(([k, v]) => [rfcEncode(k), rfcEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak === bk ? (av < bv ? -1 : av > bv ? 1 : 0) : ak < bk ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const ibindPairs = own
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const out = new Set<string>();
  for (const origin of new Set(origins)) {
    const uri = `${origin}${url.pathname}`;
    out.add(`${prepend}${method}&${rfcEncode(uri)}&${rfcEncode(rfcPairs)}`);
    out.add(`${prepend}${method}&${quotePlus(uri)}&${quotePlus(ibindPairs)}`);
  }
  return [...out];
}

export function powMod(base: bigint, exp: bigint, m: bigint): bigint {
  let result = 1n;
  let b = base % m;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % m;
    b = (b * b) % m;
  }
  return result;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex: string): Uint8Array {
  const even = hex.length % 2 ? `0${hex}` : hex;
  return Uint8Array.from(even.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}

export function fromBase64(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

export function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** Java's BigInteger.toByteArray for a positive number: a sign byte 0x00 when the top bit is set. */
function javaBytes(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) >= 0x80) hex = `00${hex}`;
  return fromHex(hex);
}

export async function hmac(
  hash: "SHA-1" | "SHA-256",
  key: Uint8Array,
  data: Uint8Array,
): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key as BufferSource, { name: "HMAC", hash }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data as BufferSource));
}

/** IBKR's side of the LST exchange: B = g^b, K = A^b, LST = HMAC-SHA1(K, secret), its HMAC-SHA1 check. */
export async function serverLiveSessionToken(
  challenge: bigint,
  prime: bigint,
  generator: bigint,
  secret: Uint8Array,
  consumerKey: string,
): Promise<{ response: string; lst: Uint8Array; signature: string }> {
  const b = BigInt(`0x${randomHex(32)}`) | 2n;
  const k = powMod(challenge, b, prime);
  const lst = await hmac("SHA-1", javaBytes(k), secret);
  const signature = toHex(await hmac("SHA-1", lst, new TextEncoder().encode(consumerKey)));
  return { response: powMod(generator, b, prime).toString(16), lst, signature };
}

/** Equal-length comparison without an early exit. */
export function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
