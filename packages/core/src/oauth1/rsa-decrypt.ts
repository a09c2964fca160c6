// RSAES-PKCS1-v1_5 decryption (RFC 8017 §7.2.2) of the OAuth 1.0a access-token secret. WebCrypto has no
// PKCS#1 v1.5 encryption and Node >= 20 refuses privateDecrypt with RSA_PKCS1_PADDING (the Marvin-attack
// revert), so the key is parsed from its DER and the decryption done on BigInt with the CRT parameters.
// Padding failures all get one message: the secret is decrypted locally, but an oracle is still no help.
import { base64ToBytes, pemBlock } from "../keys";
import { bigIntToBytes, bytesToBigInt, bytesToHex } from "./bigint";
import { Der } from "./der";
import { modPow } from "./modpow";

/** The RSAPrivateKey of RFC 8017 appendix A.1.2 (two-prime). */
export interface RsaPrivateKey {
  n: bigint;
  e: bigint;
  d: bigint;
  p: bigint;
  q: bigint;
  dp: bigint;
  dq: bigint;
  qinv: bigint;
  /** Modulus length in bytes. */
  size: number;
}

// rsaEncryption, 1.2.840.113549.1.1.1
const RSA_OID = "2a864886f70d010101";

/** Parses a PKCS#1 RSAPrivateKey, or a PKCS#8 PrivateKeyInfo that wraps one. */
export function parseRsaPrivateKeyDer(der: Uint8Array, pkcs8: boolean): RsaPrivateKey {
  let inner = der;
  if (pkcs8) {
    const info = new Der(new Der(der).read(0x30));
    info.integer();
    const algorithm = new Der(info.read(0x30));
    if (bytesToHex(algorithm.read(0x06)) !== RSA_OID) throw new Error("not an RSA key");
    inner = info.read(0x04);
  }
  const seq = new Der(new Der(inner).read(0x30));
  if (seq.integer() !== 0n) throw new Error("only two-prime RSA keys are supported");
  const [n, e, d, p, q, dp, dq, qinv] = Array.from({ length: 8 }, () => seq.integer()) as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ];
  if (p * q !== n) throw new Error("inconsistent RSA key");
  return { n, e, d, p, q, dp, dq, qinv, size: Math.ceil(n.toString(16).length / 2) };
}

/** A PEM ("PRIVATE KEY" or "RSA PRIVATE KEY") to the key's integers; errors never quote the text. */
export function parseRsaPrivateKeyPem(pem: string): RsaPrivateKey {
  const block = pemBlock(pem);
  if (!block) throw new Error("not a PEM private key (no -----BEGIN …----- block)");
  if (block.label === "ENCRYPTED PRIVATE KEY" || /Proc-Type:\s*4,ENCRYPTED/.test(block.headers))
    throw new Error("the key is encrypted with a passphrase; decrypt it with `openssl pkey`");
  if (block.label !== "PRIVATE KEY" && block.label !== "RSA PRIVATE KEY")
    throw new Error(`a "${block.label}" block is not an RSA private key`);
  let der: Uint8Array;
  try {
    der = base64ToBytes(block.body);
  } catch {
    throw new Error("the PEM body is not valid base64");
  }
  try {
    return parseRsaPrivateKeyDer(der, block.label === "PRIVATE KEY");
  } catch (e) {
    throw new Error(`the key could not be read as RSA: ${(e as Error).message}`);
  }
}

const DECRYPT_ERROR = "decryption failed: the ciphertext does not match this key";

/**
 * RSAES-PKCS1-v1_5 decryption with the Chinese remainder theorem, checked by re-encryption with the
 * public exponent (a faulty CRT result would otherwise leak a factor of n).
 */
export function rsaPkcs1v15Decrypt(key: RsaPrivateKey, ciphertext: Uint8Array): Uint8Array {
  if (ciphertext.length !== key.size) throw new Error(DECRYPT_ERROR);
  const c = bytesToBigInt(ciphertext);
  if (c >= key.n) throw new Error(DECRYPT_ERROR);
  const m1 = modPow(c, key.dp, key.p);
  const m2 = modPow(c, key.dq, key.q);
  const h = (((key.qinv * (m1 - m2)) % key.p) + key.p) % key.p;
  const m = m2 + h * key.q;
  if (modPow(m, key.e, key.n) !== c) throw new Error(DECRYPT_ERROR);
  const em = bigIntToBytes(m, key.size);
  // EM = 0x00 || 0x02 || PS (at least 8 non-zero bytes) || 0x00 || M
  const separator = em.indexOf(0, 2);
  if (em[0] !== 0 || em[1] !== 2 || separator < 10) throw new Error(DECRYPT_ERROR);
  return em.slice(separator + 1);
}
