// What an OAuth 1.0a login needs from the credentials that does not change between logins: the decrypted
// access-token secret (IBKR's "prepend"; 3-10 ms of BigInt RSA by key size) and the imported signature
// key. A Worker builds a new IBAuth for every operation, so these are kept per process/isolate.
//
// Memory only: the maps live in this module and are never persisted, listed, logged or exported. They
// are keyed by the configured values themselves, so a changed encryption key, secret or signature key is
// a different entry and is decrypted or imported afresh; a failure is not kept, so the next login retries.
import { base64ToBytes, importPrivateKey } from "../keys";
import { bytesToHex } from "./bigint";
import { parseRsaPrivateKeyPem, rsaPkcs1v15Decrypt } from "./rsa-decrypt";

/** Bounds what a long-lived process holds after credentials rotate (a Worker serves a few dozen users). */
const CAPACITY = 64;

const prepends = new Map<string, Promise<string>>();
const signatureKeys = new Map<string, Promise<CryptoKey>>();

function once<T>(cache: Map<string, Promise<T>>, key: string, compute: () => Promise<T>): Promise<T> {
  let entry = cache.get(key);
  if (entry) {
    // most recently used last, so the oldest is evicted first
    cache.delete(key);
    cache.set(key, entry);
    return entry;
  }
  entry = compute();
  cache.set(key, entry);
  entry.catch(() => {
    if (cache.get(key) === entry) cache.delete(key);
  });
  if (cache.size > CAPACITY) cache.delete(cache.keys().next().value as string);
  return entry;
}

/** The access-token secret decrypted with the encryption key, as hex. Errors are the decryption's own. */
export function decryptedSecret(encryptionKeyPem: string, accessTokenSecret: string): Promise<string> {
  return once(prepends, `${encryptionKeyPem}\n${accessTokenSecret}`, async () =>
    bytesToHex(rsaPkcs1v15Decrypt(parseRsaPrivateKeyPem(encryptionKeyPem), base64ToBytes(accessTokenSecret))),
  );
}

/**
 * The OAuth 1.0a signature key imported for RSA-SHA256 (importPrivateKey's checks and errors), a PEM once
 * per process; a CryptoKey is checked each time. Adapters that import the key to validate their
 * configuration on every operation (the Worker) use this too.
 */
export function importOAuth1SignatureKey(key: string | CryptoKey): Promise<CryptoKey> {
  return typeof key === "string"
    ? once(signatureKeys, key, () => importPrivateKey(key, "signatureKey"))
    : importPrivateKey(key, "signatureKey");
}
