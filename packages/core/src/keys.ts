import { IbauthError } from "./errors";

/** The parts of an RSA key algorithm we check (the WebWorker lib does not name the type). */
interface RsaAlgorithm {
  name: string;
  hash?: { name: string };
  modulusLength: number;
}

const RS256 = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

function keyError(message: string, hint?: string): IbauthError {
  return new IbauthError(message, { code: "ERR_KEY", step: "key", ...(hint ? { hint } : {}) });
}

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64.replace(/\s+/g, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function der(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const head = [tag, ...derLength(length)];
  const out = new Uint8Array(head.length + length);
  out.set(head);
  let at = head.length;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// AlgorithmIdentifier { rsaEncryption (1.2.840.113549.1.1.1), NULL }
const RSA_ALGORITHM = new Uint8Array([
  0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
]);

/** WebCrypto imports only PKCS#8, so a PKCS#1 RSAPrivateKey is wrapped in a PrivateKeyInfo. */
export function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array {
  return der(0x30, new Uint8Array([0x02, 0x01, 0x00]), RSA_ALGORITHM, der(0x04, pkcs1));
}

/** The PEM label, e.g. "PRIVATE KEY"; the text itself never goes into an error. */
export function pemBlock(pem: string): { label: string; body: string; headers: string } | undefined {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) return undefined;
  const inner = m[2] ?? "";
  const headers = inner.includes(":") ? inner.slice(0, inner.lastIndexOf(":") + 1) : "";
  return {
    label: m[1] ?? "",
    body: inner
      .split(/\r?\n/)
      .filter((l) => l && !l.includes(":"))
      .join(""),
    headers,
  };
}

/** Whose key is imported: OAuth 2.0's `privateKey` or OAuth 1.0a's `signatureKey`; errors name it and its rules. */
export type KeyRole = "privateKey" | "signatureKey";

const ROLES: Record<
  KeyRole,
  { name: string; size: string; short: (bits: number) => string; publicHint: string; hint: string }
> = {
  privateKey: {
    name: "privateKey",
    size: "IBKR needs an RSA key (3072 bits)",
    short: (bits) => `the RSA key has ${bits} bits; IBKR needs at least 2048 (3072 recommended)`,
    publicHint: "The public key is what you register at IBKR; sign with its private key",
    hint: "Generate one with `ibauth keygen` or `openssl genrsa -out private.pem 3072`",
  },
  signatureKey: {
    name: "signatureKey",
    size: "OAuth 1.0a needs the RSA signature key (2048 bits) of the pair uploaded in the Self-Service Portal",
    short: (bits) =>
      `signatureKey has ${bits} bits; OAuth 1.0a needs the 2048-bit RSA signature key uploaded in the Self-Service Portal`,
    publicHint:
      "Upload the public key in the Self-Service Portal; signatureKey takes the private key of that pair (private_signature.pem), encryptionKey the other pair's",
    hint: "Generate the OAuth 1.0a pairs with `ibauth keygen --oauth1` (or `openssl genrsa -out private_signature.pem 2048`) and upload the public keys in the Self-Service Portal",
  },
};

/**
 * Turns a PEM (PKCS#8 or PKCS#1) or a CryptoKey into a non-extractable RS256 signing key.
 * Every refusal names the option (`role`), says what the file is and what is needed instead.
 */
export async function importPrivateKey(
  input: string | CryptoKey,
  role: KeyRole = "privateKey",
): Promise<CryptoKey> {
  const r = ROLES[role];
  if (typeof input !== "string") {
    const alg = input.algorithm as RsaAlgorithm;
    if (
      input.type !== "private" ||
      alg.name !== RS256.name ||
      alg.hash?.name !== "SHA-256" ||
      !input.usages.includes("sign")
    ) {
      throw keyError(
        `${r.name}: the CryptoKey must be an RSASSA-PKCS1-v1_5 SHA-256 private key with the 'sign' usage`,
      );
    }
    return input;
  }
  const block = pemBlock(input);
  if (!block) throw keyError(`${r.name} is not a PEM private key (no -----BEGIN …----- block found)`, r.hint);
  const { label } = block;
  if (label === "ENCRYPTED PRIVATE KEY" || /Proc-Type:\s*4,ENCRYPTED/.test(block.headers)) {
    throw keyError(
      `${r.name}: the private key is encrypted with a passphrase`,
      "Decrypt it first: openssl pkey -in key.pem -out key-plain.pem",
    );
  }
  if (label.includes("PUBLIC KEY") || label === "CERTIFICATE") {
    throw keyError(`${r.name}: this is a ${label.toLowerCase()}, not a private key`, r.publicHint);
  }
  if (label === "EC PRIVATE KEY" || label === "OPENSSH PRIVATE KEY" || label === "DSA PRIVATE KEY") {
    throw keyError(`${r.name}: this is an ${label.replace(" PRIVATE KEY", "")} key; ${r.size}`, r.hint);
  }
  if (label !== "PRIVATE KEY" && label !== "RSA PRIVATE KEY")
    throw keyError(`${r.name}: unsupported PEM block "${label}"`, r.hint);
  let bytes: Uint8Array;
  try {
    bytes = base64ToBytes(block.body);
  } catch {
    throw keyError(`${r.name}: the PEM body is not valid base64 (was the file edited or truncated?)`);
  }
  const pkcs8 = label === "RSA PRIVATE KEY" ? pkcs1ToPkcs8(bytes) : bytes;
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey("pkcs8", pkcs8 as BufferSource, RS256, false, ["sign"]);
  } catch {
    throw keyError(
      `${r.name} could not be imported as RSA (is it an EC or Ed25519 key, or corrupt?)`,
      r.hint,
    );
  }
  const bits = (key.algorithm as RsaAlgorithm).modulusLength;
  if (bits < 2048) throw keyError(r.short(bits), r.hint);
  return key;
}
