import { generateKeyPairSync } from "node:crypto";
import { IbauthError } from "@ibauth/core";
import { describe, expect, it } from "vitest";
import { testBed } from "./fixture";

/** Connects with the given PEM as the private key; the emulator holds the matching public key. */
async function connectWith(pem: string, publicKeyPem: string) {
  const { auth } = await testBed({
    emulator: {
      clients: [
        { clientId: "canary-client-7f3a", keys: { main: publicKeyPem }, credentials: ["canaryuser9b1c"] },
      ],
    },
    auth: { privateKey: pem },
  });
  return auth.connect();
}

const rsa = (bits: number) => generateKeyPairSync("rsa", { modulusLength: bits });

describe("private keys", () => {
  it("signs with a PKCS#1 'BEGIN RSA PRIVATE KEY' PEM (converted to PKCS#8 for WebCrypto)", async () => {
    const { privateKey, publicKey } = rsa(2048);
    const pkcs1 = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
    expect(pkcs1).toContain("BEGIN RSA PRIVATE KEY");
    const status = await connectWith(pkcs1, publicKey.export({ type: "spki", format: "pem" }).toString());
    expect(status.state).toBe("connected");
  });

  it("accepts a CryptoKey", async () => {
    const pair = await crypto.subtle.generateKey(
      {
        name: "RSASSA-PKCS1-v1_5",
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: "SHA-256",
      },
      false,
      ["sign", "verify"],
    );
    const spki = Buffer.from(await crypto.subtle.exportKey("spki", pair.publicKey)).toString("base64");
    const status = await connectWith(
      pair.privateKey as never,
      `-----BEGIN PUBLIC KEY-----\n${spki}\n-----END PUBLIC KEY-----\n`,
    );
    expect(status.state).toBe("connected");
  });

  const refusals: [string, () => string, RegExp][] = [
    [
      "an encrypted PKCS#8 key",
      () =>
        rsa(2048)
          .privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw" })
          .toString(),
      /encrypted/,
    ],
    [
      "an encrypted PKCS#1 key",
      () =>
        rsa(2048)
          .privateKey.export({ type: "pkcs1", format: "pem", cipher: "aes-256-cbc", passphrase: "pw" })
          .toString(),
      /encrypted/,
    ],
    [
      "a public key",
      () => rsa(2048).publicKey.export({ type: "spki", format: "pem" }).toString(),
      /public key, not a private key/,
    ],
    [
      "an EC key",
      () =>
        generateKeyPairSync("ec", { namedCurve: "P-256" })
          .privateKey.export({ type: "sec1", format: "pem" })
          .toString(),
      /IBKR needs an RSA key/,
    ],
    [
      "an EC key in PKCS#8",
      () =>
        generateKeyPairSync("ec", { namedCurve: "P-256" })
          .privateKey.export({ type: "pkcs8", format: "pem" })
          .toString(),
      /could not be imported as RSA/,
    ],
    [
      "a 1024-bit key",
      () => rsa(1024).privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      /1024 bits/,
    ],
    ["no PEM at all", () => "not a key", /no -----BEGIN/],
  ];
  for (const [what, make, message] of refusals) {
    it(`refuses ${what} with ERR_KEY and a fix, never echoing the key`, async () => {
      const pem = make();
      const { auth, emu } = await testBed({ auth: { privateKey: pem } });
      const e = await auth.connect().catch((x: unknown) => x);
      expect(e).toBeInstanceOf(IbauthError);
      expect((e as IbauthError).code).toBe("ERR_KEY");
      expect((e as IbauthError).message).toMatch(message);
      const body = pem.split("\n")[1] ?? pem;
      expect(JSON.stringify(e) + String(e)).not.toContain(body.slice(0, 20));
      // Nothing reached IBKR but the IP lookup, which runs in parallel with signing.
      expect(emu.counts()["POST /oauth2/api/v1/token"]).toBeUndefined();
    });
  }
});
