// OAuth 1.0a primitives against Node's own crypto, computed at test time (never hard-coded outputs),
// plus the worked example of RFC 5849 §3.4.1.
import {
  constants,
  createDiffieHellman,
  createDiffieHellmanGroup,
  createHmac,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  verify,
} from "node:crypto";
import { describe, expect, it } from "vitest";
import { importPrivateKey } from "../src/keys";
import { bytesToBigInt, hexToBigInt, signedBytes } from "../src/oauth1/bigint";
import { dhChallenge, dhSharedSecret } from "../src/oauth1/dh";
import { isValidLiveSessionToken, liveSessionToken, liveSessionTokenSignature } from "../src/oauth1/lst";
import { FixedBasePow, modPow } from "../src/oauth1/modpow";
import { parseRsaPrivateKeyPem, rsaPkcs1v15Decrypt } from "../src/oauth1/rsa-decrypt";
import {
  authorizationHeader,
  hmacSha256Signature,
  percentEncode,
  requestSigningKey,
  rsaSha256Signature,
  signatureBaseString,
} from "../src/oauth1/signing";

const encryptionPair = generateKeyPairSync("rsa", { modulusLength: 2048 });
const pkcs8 = encryptionPair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const pkcs1 = encryptionPair.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
const encrypt = (plain: Buffer) =>
  publicEncrypt({ key: encryptionPair.publicKey, padding: constants.RSA_PKCS1_PADDING }, plain);

describe("RSAES-PKCS1-v1_5 decryption on BigInt", () => {
  it("decrypts with a 3072-bit key (1536-bit CRT halves) what Node encrypted", () => {
    const big = generateKeyPairSync("rsa", { modulusLength: 3072 });
    const key = parseRsaPrivateKeyPem(big.privateKey.export({ type: "pkcs8", format: "pem" }).toString());
    expect(key.size).toBe(384);
    for (const length of [1, 32, 373]) {
      const plain = randomBytes(length);
      const c = publicEncrypt({ key: big.publicKey, padding: constants.RSA_PKCS1_PADDING }, plain);
      expect(Buffer.from(rsaPkcs1v15Decrypt(key, c))).toEqual(plain);
    }
  });

  it("decrypts what Node's publicEncrypt encrypted, from PKCS#8 and PKCS#1 PEMs", () => {
    for (const pem of [pkcs8, pkcs1]) {
      const key = parseRsaPrivateKeyPem(pem);
      expect(key.size).toBe(256);
      for (const length of [1, 20, 32, 100, 245]) {
        const plain = randomBytes(length);
        if (length > 1) plain[0] = 0; // a leading zero byte must survive
        expect(Buffer.from(rsaPkcs1v15Decrypt(key, encrypt(plain)))).toEqual(plain);
      }
    }
  });

  it("refuses a ciphertext for another key, a tampered one and a wrong length, with one message", () => {
    const key = parseRsaPrivateKeyPem(pkcs8);
    const other = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const foreign = publicEncrypt(
      { key: other.publicKey, padding: constants.RSA_PKCS1_PADDING },
      randomBytes(32),
    );
    const tampered = encrypt(randomBytes(32));
    tampered[100] = (tampered[100] ?? 0) ^ 1;
    const messages = new Set<string>();
    for (const c of [foreign, tampered, encrypt(randomBytes(32)).subarray(1)]) {
      try {
        rsaPkcs1v15Decrypt(key, c);
        messages.add("no error");
      } catch (e) {
        messages.add((e as Error).message);
      }
    }
    expect([...messages]).toEqual(["decryption failed: the ciphertext does not match this key"]);
  });

  it("names what is wrong with a PEM and never quotes it", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ecPem = ec.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const spki = encryptionPair.publicKey.export({ type: "spki", format: "pem" }).toString();
    for (const [pem, message] of [
      [ecPem, "not an RSA key"],
      [spki, '"PUBLIC KEY" block'],
      ["hello", "no -----BEGIN"],
    ] as const) {
      let error: Error | undefined;
      try {
        parseRsaPrivateKeyPem(pem);
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message).toContain(message);
      const body = pem.split("\n")[1] ?? "";
      if (body.length > 20) expect(error?.message).not.toContain(body.slice(0, 20));
    }
  });
});

describe("Diffie-Hellman on BigInt", () => {
  const group = createDiffieHellmanGroup("modp14"); // RFC 3526 2048-bit safe prime, g = 2
  const prime = bytesToBigInt(group.getPrime());

  it("agrees with Node's createDiffieHellman on the shared secret", () => {
    for (let i = 0; i < 3; i++) {
      const node = createDiffieHellman(group.getPrime(), Buffer.from([2]));
      node.generateKeys();
      const ours = dhChallenge(prime, 2n);
      const fromNode = bytesToBigInt(
        node.computeSecret(Buffer.from(ours.challengeHex.padStart(512, "0"), "hex")),
      );
      expect(dhSharedSecret(bytesToBigInt(node.getPublicKey()), ours.secret, prime)).toBe(fromNode);
      expect(ours.secret < 1n << 256n).toBe(true);
    }
  });

  it("refuses degenerate responses", () => {
    const { secret } = dhChallenge(prime, 2n);
    for (const b of [0n, 1n, prime - 1n, prime])
      expect(() => dhSharedSecret(b, secret, prime)).toThrow(RangeError);
  });

  it("agrees with Node when the same group serves many challenges (the fixed-base powers are reused)", () => {
    const node = createDiffieHellman(group.getPrime(), Buffer.from([2]));
    node.generateKeys();
    for (let i = 0; i < 5; i++) {
      const ours = dhChallenge(prime, 2n);
      const fromNode = node.computeSecret(Buffer.from(ours.challengeHex.padStart(512, "0"), "hex"));
      expect(dhSharedSecret(bytesToBigInt(node.getPublicKey()), ours.secret, prime)).toBe(
        bytesToBigInt(fromNode),
      );
    }
    // another prime in the same process: the cached powers must not be used for it
    const other = createDiffieHellmanGroup("modp5"); // RFC 3526 1536-bit, g = 2
    other.generateKeys();
    const otherPrime = bytesToBigInt(other.getPrime());
    const ours = dhChallenge(otherPrime, 2n);
    const fromNode = other.computeSecret(Buffer.from(ours.challengeHex.padStart(384, "0"), "hex"));
    expect(dhSharedSecret(bytesToBigInt(other.getPublicKey()), ours.secret, otherPrime)).toBe(
      bytesToBigInt(fromNode),
    );
  });
});

describe("modular exponentiation", () => {
  const slow = (b: bigint, e: bigint, m: bigint) => {
    let r = 1n % m;
    for (let x = ((b % m) + m) % m, k = e; k > 0n; k >>= 1n, x = (x * x) % m) if (k & 1n) r = (r * x) % m;
    return r;
  };
  const random = (bytes: number) => bytesToBigInt(randomBytes(bytes));

  it("modPow matches a plain square-and-multiply on random operands of every window width", () => {
    // exponent lengths from 1 byte (window 1) to 256 bytes (window 6), odd and even moduli
    for (const expBytes of [1, 2, 3, 8, 16, 32, 64, 128, 192, 256]) {
      for (let i = 0; i < 3; i++) {
        const m = random(64) | 1n;
        const [b, e] = [random(70), random(expBytes)];
        expect(modPow(b, e, m)).toBe(slow(b, e, m));
        expect(modPow(b, e, m + 1n)).toBe(slow(b, e, m + 1n));
      }
    }
    // sparse and dense exponents, and the edges
    const m = random(128) | 1n;
    const b = random(128);
    for (const e of [0n, 1n, 2n, 65537n, (1n << 1024n) - 1n, 1n << 1023n, (1n << 1023n) | 1n])
      expect(modPow(b, e, m)).toBe(slow(b, e, m));
    expect(modPow(-5n, 3n, 7n)).toBe(slow(-5n, 3n, 7n));
    expect(modPow(b, 5n, 1n)).toBe(0n);
    expect(() => modPow(b, -1n, m)).toThrow(RangeError);
  });

  it("FixedBasePow matches modPow for exponents within and beyond its table", () => {
    const m = random(256) | 1n;
    for (const g of [2n, random(256)]) {
      const fixed = new FixedBasePow(g, m, 256);
      for (const e of [0n, 1n, 2n, 15n, 16n, 255n, (1n << 256n) - 1n, 1n << 255n, 1n << 256n, random(40)])
        expect(fixed.pow(e)).toBe(slow(g, e, m));
      for (let i = 0; i < 20; i++) {
        const e = random(1 + (i % 32));
        expect(fixed.pow(e)).toBe(slow(g, e, m));
      }
    }
  });
});

describe("live session token", () => {
  it("matches HMAC-SHA1 keyed by Java's toByteArray(K), and validates as IBKR signs it", async () => {
    const group = createDiffieHellmanGroup("modp14");
    const prime = bytesToBigInt(group.getPrime());
    let sawSignByte = false;
    for (let i = 0; i < 8; i++) {
      const server = createDiffieHellman(group.getPrime(), Buffer.from([2]));
      server.generateKeys();
      const client = dhChallenge(prime, 2n);
      const kBytes = server.computeSecret(Buffer.from(client.challengeHex.padStart(512, "0"), "hex"));
      // Java's BigInteger.toByteArray: minimal big-endian, plus 0x00 when the top bit is set
      let start = 0;
      while (kBytes[start] === 0) start++;
      const minimal = kBytes.subarray(start);
      const java = (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal;
      sawSignByte ||= java.length > minimal.length;
      const prepend = randomBytes(25).toString("hex");
      const expected = createHmac("sha1", java).update(Buffer.from(prepend, "hex")).digest();
      const k = dhSharedSecret(bytesToBigInt(server.getPublicKey()), client.secret, prime);
      expect(Buffer.from(signedBytes(k))).toEqual(java);
      const lst = await liveSessionToken(k, prepend);
      expect(Buffer.from(lst)).toEqual(expected);
      const ibkrSignature = createHmac("sha1", expected).update("TESTCONS").digest("hex");
      expect(await liveSessionTokenSignature(lst, "TESTCONS")).toBe(ibkrSignature);
      expect(await isValidLiveSessionToken(lst, "TESTCONS", ibkrSignature)).toBe(true);
      expect(await isValidLiveSessionToken(lst, "OTHERCONS", ibkrSignature)).toBe(false);
    }
    // 8 random K: the chance that none has its top bit set is 1/256
    expect(sawSignByte).toBe(true);
  });
});

describe("OAuth 1.0a signatures", () => {
  it("builds RFC 5849 §3.4.1.1's example base string", () => {
    const url = new URL("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b");
    const params = {
      oauth_consumer_key: "9djdj82h48djs9d2",
      oauth_token: "kkk9d7dh3k39sjv7",
      oauth_signature_method: "HMAC-SHA1",
      oauth_timestamp: "137131201",
      oauth_nonce: "7d8f3e4a",
      // the example's form body "c2&a3=2+q", passed as parameters
      c2: "",
      a3: "2 q",
    };
    expect(signatureBaseString("POST", url, params)).toBe(
      "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7",
    );
  });

  it("percent-encodes as RFC 5849 §3.6 (unreserved kept, the rest as upper-case %XX of UTF-8)", () => {
    expect(percentEncode("Az09-._~")).toBe("Az09-._~");
    expect(percentEncode("!*'() +/=&é")).toBe("%21%2A%27%28%29%20%2B%2F%3D%26%C3%A9");
  });

  it("leads with the prepend, drops default ports and keeps others", () => {
    const base = signatureBaseString(
      "post",
      new URL("HTTPS://API.IBKR.com:443/v1/api/x"),
      { a: "1" },
      "beef",
    );
    expect(base.startsWith("beefPOST&https%3A%2F%2Fapi.ibkr.com%2Fv1%2Fapi%2Fx&")).toBe(true);
    expect(signatureBaseString("GET", new URL("http://127.0.0.1:5000/p"), {})).toBe(
      "GET&http%3A%2F%2F127.0.0.1%3A5000%2Fp&",
    );
  });

  it("signs RSA-SHA256 so that Node verifies it, and HMAC-SHA256 as Node computes it", async () => {
    const signing = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const key = await importPrivateKey(
      signing.privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    );
    const base = signatureBaseString(
      "POST",
      new URL("https://api.ibkr.com/v1/api/oauth/live_session_token"),
      {
        oauth_consumer_key: "TESTCONS",
      },
    );
    const sig = await rsaSha256Signature(key, base);
    expect(verify("sha256", Buffer.from(base), signing.publicKey, Buffer.from(sig, "base64"))).toBe(true);
    const lst = randomBytes(20);
    expect(await hmacSha256Signature(await requestSigningKey(lst), base)).toBe(
      createHmac("sha256", lst).update(base).digest("base64"),
    );
  });

  it("writes the Authorization header with realm first and encoded, sorted values", () => {
    expect(
      authorizationHeader({ oauth_token: "t", oauth_signature: "a+b/c=", b: "x y" }, "limited_poa"),
    ).toBe('OAuth realm="limited_poa", b="x%20y", oauth_signature="a%2Bb%2Fc%3D", oauth_token="t"');
  });

  it("hexToBigInt accepts 0x and upper case and refuses junk", () => {
    expect(hexToBigInt("0xFF")).toBe(255n);
    expect(() => hexToBigInt("xyz")).toThrow();
  });
});
