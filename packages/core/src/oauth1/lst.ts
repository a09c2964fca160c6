// The live session token (protocol notes §7.2 steps 8-10, as ibind computes it): HMAC-SHA1 keyed by the
// DH shared secret in Java's signed byte form over the decrypted access-token secret, and its check.
import { bytesToHex, hexToBytes, signedBytes } from "./bigint";
import { hmacSha1 } from "./signing";

/** LST = HMAC-SHA1(key = toByteArray(K), message = bytes of the prepend hex). */
export function liveSessionToken(sharedSecret: bigint, prependHex: string): Promise<Uint8Array> {
  return hmacSha1(signedBytes(sharedSecret), hexToBytes(prependHex));
}

/** hex(HMAC-SHA1(key = LST, message = consumer key)): IBKR's `live_session_token_signature`. */
export async function liveSessionTokenSignature(lst: Uint8Array, consumerKey: string): Promise<string> {
  return bytesToHex(await hmacSha1(lst, new TextEncoder().encode(consumerKey)));
}

/** Compares as strings of equal length in constant time (the LST stays local; this is hygiene). */
export async function isValidLiveSessionToken(
  lst: Uint8Array,
  consumerKey: string,
  signatureHex: string,
): Promise<boolean> {
  const expected = await liveSessionTokenSignature(lst, consumerKey);
  const given = signatureHex.toLowerCase();
  if (given.length !== expected.length) return false;
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ given.charCodeAt(i);
  return diff === 0;
}
