// `ibauth check` for OAuth 1.0a, offline: every credential is read and used the way the login will use
// it (the secret decrypted, the signature key imported), and the DH prime checked to be a safe 2048-bit
// prime. Findings name the field and never quote a value.
import { isIbauthError } from "../errors";
import { base64ToBytes, importPrivateKey } from "../keys";
import type { OAuth1Credentials } from "../types";
import { bitLength, bytesToBigInt, hexToBigInt } from "./bigint";
import { modPow } from "./modpow";
import { parseRsaPrivateKeyPem, rsaPkcs1v15Decrypt } from "./rsa-decrypt";

export interface OAuth1Finding {
  field: keyof OAuth1Credentials;
  ok: boolean;
  detail: string;
}

const SMALL_PRIMES = [
  3n,
  5n,
  7n,
  11n,
  13n,
  17n,
  19n,
  23n,
  29n,
  31n,
  37n,
  41n,
  43n,
  47n,
  53n,
  59n,
  61n,
  67n,
  71n,
];

/** Miller-Rabin with random bases: a composite passes `rounds` rounds with probability below 4^-rounds. */
export function isProbablePrime(n: bigint, rounds = 16): boolean {
  if (n < 2n) return false;
  for (const p of [2n, ...SMALL_PRIMES]) if (n % p === 0n) return n === p;
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  const bytes = Math.ceil(bitLength(n) / 8);
  for (let i = 0; i < rounds; i++) {
    const a = 2n + (bytesToBigInt(crypto.getRandomValues(new Uint8Array(bytes))) % (n - 3n));
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    let witness = true;
    for (let r = 1; r < s && witness; r++) {
      x = (x * x) % n;
      if (x === n - 1n) witness = false;
    }
    if (witness) return false;
  }
  return true;
}

/** Every check, in order; a failed one does not stop the rest. */
export async function checkOAuth1(c: OAuth1Credentials): Promise<OAuth1Finding[]> {
  const out: OAuth1Finding[] = [];
  const realm = c.realm ?? (c.consumerKey === "TESTCONS" ? "test_realm" : "limited_poa");
  // The consumer key is not quoted (only TESTCONS, IBKR's public test consumer, is named).
  const testConsumer = c.consumerKey === "TESTCONS";
  out.push(
    (realm === "test_realm") === testConsumer
      ? {
          field: "realm",
          ok: true,
          detail: testConsumer
            ? "test_realm for IBKR's test consumer TESTCONS"
            : `${realm} for a first-party consumer (test_realm is only for TESTCONS)`,
        }
      : {
          field: "realm",
          ok: false,
          detail: "test_realm goes only with the TESTCONS consumer; every other consumer uses limited_poa",
        },
  );
  try {
    const key = await importPrivateKey(c.signatureKey, "signatureKey");
    const bits = (key.algorithm as unknown as { modulusLength: number }).modulusLength;
    out.push({ field: "signatureKey", ok: true, detail: `RSA ${bits} bits, signs RSA-SHA256` });
  } catch (e) {
    // the field is the finding's own: not the error's "key: " step prefix
    const detail = isIbauthError(e) ? e.message.slice(e.step.length + 2) : (e as Error).message;
    out.push({ field: "signatureKey", ok: false, detail });
  }
  try {
    const key = parseRsaPrivateKeyPem(c.encryptionKey);
    const bits = bitLength(key.n);
    out.push({
      field: "encryptionKey",
      ok: bits >= 2048,
      detail: `RSA ${bits} bits${bits < 2048 ? ": IBKR needs 2048" : ""}`,
    });
    try {
      const secret = rsaPkcs1v15Decrypt(key, base64ToBytes(c.accessTokenSecret));
      out.push({
        field: "accessTokenSecret",
        ok: true,
        detail: `decrypts with encryptionKey (${secret.length} bytes)`,
      });
    } catch {
      out.push({
        field: "accessTokenSecret",
        ok: false,
        detail:
          "does not decrypt with encryptionKey: is it the portal's base64, and the key of the pair you uploaded?",
      });
    }
  } catch (e) {
    out.push({ field: "encryptionKey", ok: false, detail: (e as Error).message });
  }
  let p: bigint | undefined;
  try {
    p = hexToBigInt(c.dhPrime);
  } catch {
    out.push({ field: "dhPrime", ok: false, detail: "is not hexadecimal" });
  }
  if (p !== undefined) {
    const bits = bitLength(p);
    const safe = bits === 2048 && isProbablePrime(p) && isProbablePrime((p - 1n) / 2n);
    out.push({
      field: "dhPrime",
      ok: safe,
      detail: safe
        ? "a safe 2048-bit prime"
        : bits !== 2048
          ? `${bits} bits: IBKR's dhparam.pem is 2048 bits`
          : "not a safe prime: use the prime of the dhparam.pem you uploaded",
    });
  }
  const g = c.dhGenerator ?? 2;
  out.push({ field: "dhGenerator", ok: g === 2, detail: g === 2 ? "2" : `${g}: IBKR always uses 2` });
  return out;
}
