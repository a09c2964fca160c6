import { exportPKCS8, exportSPKI, generateKeyPair, importSPKI } from "jose";

export interface ClientKeyPair {
  /** PKCS#8 PEM: give it to the SDK as `privateKey`. */
  privateKeyPem: string;
  /** SPKI PEM: register it with the emulator under a kid. */
  publicKeyPem: string;
}

/** An RSA key pair for a test client, made with WebCrypto (no PEM files to commit). */
export async function generateClientKeys(options: { bits?: number } = {}): Promise<ClientKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", {
    modulusLength: options.bits ?? 2048,
    extractable: true,
  });
  return { privateKeyPem: await exportPKCS8(privateKey), publicKeyPem: await exportSPKI(publicKey) };
}

/** Imports registered client public keys once, on first use. */
export class KeyRing {
  #cache = new Map<string, Promise<CryptoKey>>();
  get(clientId: string, kid: string, pem: string): Promise<CryptoKey> {
    const id = `${clientId}\u0000${kid}`;
    let key = this.#cache.get(id);
    if (!key) {
      key = importSPKI(pem, "RS256");
      this.#cache.set(id, key);
    }
    return key;
  }
}

/** The emulator's own signing key for the access tokens it issues (made lazily: key generation is async). */
export class IssuerKey {
  #pair?: Promise<CryptoKeyPair>;
  get(): Promise<CryptoKeyPair> {
    this.#pair ??= generateKeyPair("RS256") as Promise<CryptoKeyPair>;
    return this.#pair;
  }
}
