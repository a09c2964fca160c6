// A complete set of OAuth 1.0a first-party credentials, made the way the Self-Service Portal makes them,
// for tests and demos on any runtime (WebCrypto and BigInt; no PEM files to commit). The access-token
// secret is encrypted with RSAES-PKCS1-v1_5 here, as IBKR does; WebCrypto has no such encryption.
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair } from "jose";
import { fromBase64, powMod, toBase64, toHex } from "./oauth1-wire.js";
import type { EmulatorOauth1Consumer } from "./types.js";

/** RFC 3526 §3, the 2048-bit MODP group: a safe prime with generator 2, like `openssl dhparam 2048` makes. */
export const MODP_2048_PRIME = [
  "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74",
  "020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F1437",
  "4FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED",
  "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF05",
  "98DA48361C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB",
  "9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B",
  "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF695581718",
  "3995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
]
  .join("")
  .toLowerCase();

export interface Oauth1Credentials {
  /** Register with the emulator: `oauth1Consumers: [consumer]`. */
  consumer: EmulatorOauth1Consumer;
  /** Give to the SDK: `new IBAuth({ oauth1: client })`. Holds private keys: never log it. */
  client: {
    consumerKey: string;
    accessToken: string;
    /** base64 of the secret encrypted with the encryption key, as the portal shows it. */
    accessTokenSecret: string;
    signatureKey: string;
    encryptionKey: string;
    dhPrime: string;
    realm: string;
  };
}

const fromBase64Url = (s: string) =>
  fromBase64(
    s
      .replace(/-/g, "+")
      .replace(/_/g, "/")
      .padEnd(Math.ceil(s.length / 4) * 4, "="),
  );

/** RSAES-PKCS1-v1_5 encryption (RFC 8017 §7.2.1): EM = 00 02 PS 00 M, c = EM^e mod n. */
async function encryptPkcs1v15(publicKey: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  const jwk = await exportJWK(publicKey);
  const n = fromBase64Url(jwk.n as string);
  const e = fromBase64Url(jwk.e as string);
  const k = n[0] === 0 ? n.length - 1 : n.length;
  const ps = new Uint8Array(k - 3 - message.length);
  for (let i = 0; i < ps.length; i++) {
    let b = 0;
    while (b === 0) b = crypto.getRandomValues(new Uint8Array(1))[0] as number;
    ps[i] = b;
  }
  const em = new Uint8Array([0, 2, ...ps, 0, ...message]);
  const c = powMod(BigInt(`0x${toHex(em)}`), BigInt(`0x${toHex(e)}`), BigInt(`0x${toHex(n)}`));
  return Uint8Array.from(
    c
      .toString(16)
      .padStart(2 * k, "0")
      .match(/../g) ?? [],
    (h) => Number.parseInt(h, 16),
  );
}

export async function generateOauth1Credentials(
  options: { consumerKey?: string; credential?: string; realm?: string; bits?: number } = {},
): Promise<Oauth1Credentials> {
  const modulusLength = options.bits ?? 2048;
  const signature = await generateKeyPair("RS256", { modulusLength, extractable: true });
  // an RSA pair for encryption; the algorithm tag jose gives it does not survive the PEM export
  const encryption = await generateKeyPair("RS256", { modulusLength, extractable: true });
  const consumerKey = options.consumerKey ?? "EMULCONS1";
  const realm = options.realm ?? (consumerKey === "TESTCONS" ? "test_realm" : "limited_poa");
  const secret = crypto.getRandomValues(new Uint8Array(24));
  const accessToken = toHex(crypto.getRandomValues(new Uint8Array(10)));
  return {
    consumer: {
      consumerKey,
      accessToken,
      accessTokenSecret: toBase64(secret),
      signaturePublicKey: await exportSPKI(signature.publicKey),
      encryptionPublicKey: await exportSPKI(encryption.publicKey),
      dhPrime: MODP_2048_PRIME,
      realm,
      credential: options.credential ?? "emuoauth1user",
    },
    client: {
      consumerKey,
      accessToken,
      accessTokenSecret: toBase64(await encryptPkcs1v15(encryption.publicKey, secret)),
      signatureKey: await exportPKCS8(signature.privateKey),
      encryptionKey: await exportPKCS8(encryption.privateKey),
      dhPrime: MODP_2048_PRIME,
      realm,
    },
  };
}
