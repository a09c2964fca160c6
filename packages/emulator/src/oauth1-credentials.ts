// Node only: a complete set of OAuth 1.0a first-party credentials, made the way the Self-Service Portal
// makes them, for tests and demos (no PEM files to commit). The access-token secret is RSA-encrypted
// with PKCS#1 v1.5, which Node still allows for public-key encryption.
import {
  constants,
  createDiffieHellmanGroup,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
} from "node:crypto";
import type { EmulatorOauth1Consumer } from "./types.js";

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

export function generateOauth1Credentials(
  options: { consumerKey?: string; credential?: string; realm?: string; bits?: number } = {},
): Oauth1Credentials {
  const bits = options.bits ?? 2048;
  const signature = generateKeyPairSync("rsa", { modulusLength: bits });
  const encryption = generateKeyPairSync("rsa", { modulusLength: bits });
  const pem = (k: { export(o: object): string | Buffer }, type: string) =>
    k.export({ type, format: "pem" }).toString();
  const consumerKey = options.consumerKey ?? "EMULCONS1";
  const realm = options.realm ?? (consumerKey === "TESTCONS" ? "test_realm" : "limited_poa");
  const secret = randomBytes(24);
  // RFC 3526's 2048-bit MODP prime: a safe prime with generator 2, like `openssl dhparam 2048` makes
  const dhPrime = createDiffieHellmanGroup("modp14").getPrime("hex");
  const accessToken = randomBytes(10).toString("hex");
  return {
    consumer: {
      consumerKey,
      accessToken,
      accessTokenSecret: secret.toString("base64"),
      signaturePublicKey: pem(signature.publicKey, "spki"),
      encryptionPublicKey: pem(encryption.publicKey, "spki"),
      dhPrime,
      realm,
      credential: options.credential ?? "emuoauth1user",
    },
    client: {
      consumerKey,
      accessToken,
      accessTokenSecret: publicEncrypt(
        { key: encryption.publicKey, padding: constants.RSA_PKCS1_PADDING },
        secret,
      ).toString("base64"),
      signatureKey: pem(signature.privateKey, "pkcs8"),
      encryptionKey: pem(encryption.privateKey, "pkcs8"),
      dhPrime,
      realm,
    },
  };
}
