import {
  checkPrimeSync,
  constants,
  createDiffieHellmanGroup,
  createPublicKey,
  generatePrimeSync,
  publicEncrypt,
  randomBytes,
} from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkOAuth1, type IbauthError, oauth1FromConfig, oauth1FromEnv } from "@ibauth/core";
import { generateOauth1Credentials, type Oauth1Credentials } from "@ibauth/emulator/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isProbablePrime } from "../src/oauth1/check";

let creds: Oauth1Credentials;
let dir: string;
const source = { readFile: (path: string) => readFileSync(join(dir, path), "utf8") };

/** A PKCS#3 "DH PARAMETERS" PEM, as `openssl dhparam -outform PEM` writes it. */
function dhParamPem(primeHex: string, generator: number): string {
  const int = (bytes: Buffer) => {
    const body = (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
    return Buffer.concat([Buffer.from([0x02]), len(body.length), body]);
  };
  const len = (n: number) => (n < 0x80 ? Buffer.from([n]) : Buffer.from([0x82, n >> 8, n & 0xff]));
  const content = Buffer.concat([int(Buffer.from(primeHex, "hex")), int(Buffer.from([generator]))]);
  const der = Buffer.concat([Buffer.from([0x30]), len(content.length), content]);
  const b64 = (der.toString("base64").match(/.{1,64}/g) ?? []).join("\n");
  return `-----BEGIN DH PARAMETERS-----\n${b64}\n-----END DH PARAMETERS-----\n`;
}

beforeAll(async () => {
  creds = await generateOauth1Credentials({ consumerKey: "CANARYSET" });
  dir = mkdtempSync(join(tmpdir(), "ibauth-oauth1-settings-"));
  writeFileSync(join(dir, "sig.pem"), creds.client.signatureKey);
  writeFileSync(join(dir, "enc.pem"), creds.client.encryptionKey);
  writeFileSync(join(dir, "dhparam.pem"), dhParamPem(creds.client.dhPrime, 2));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("OAuth 1.0a settings", () => {
  it("are absent when no IBKR_OAUTH1_* or IBIND_OAUTH1A_* variable is set", () => {
    expect(oauth1FromEnv({ IBKR_CLIENT_ID: "x" })).toBeUndefined();
  });

  it("read IBKR_OAUTH1_* with key files and a dhparam.pem", () => {
    const c = oauth1FromEnv(
      {
        IBKR_OAUTH1_CONSUMER_KEY: creds.client.consumerKey,
        IBKR_OAUTH1_ACCESS_TOKEN: creds.client.accessToken,
        IBKR_OAUTH1_ACCESS_TOKEN_SECRET: creds.client.accessTokenSecret,
        IBKR_OAUTH1_SIGNATURE_KEY_FILE: "sig.pem",
        IBKR_OAUTH1_ENCRYPTION_KEY_FILE: "enc.pem",
        IBKR_OAUTH1_DH_PARAM_FILE: "dhparam.pem",
      },
      source,
    );
    expect(c).toEqual({ ...creds.client, realm: undefined, dhGenerator: 2 });
  });

  it("read ibind's IBIND_OAUTH1A_* names, inline PEMs with literal \\n; ours win where both are set", () => {
    const c = oauth1FromEnv({
      IBIND_OAUTH1A_CONSUMER_KEY: "IGNORED01",
      IBKR_OAUTH1_CONSUMER_KEY: creds.client.consumerKey,
      IBIND_OAUTH1A_ACCESS_TOKEN: creds.client.accessToken,
      IBIND_OAUTH1A_ACCESS_TOKEN_SECRET: creds.client.accessTokenSecret,
      IBIND_OAUTH1A_SIGNATURE_KEY: creds.client.signatureKey.replace(/\n/g, "\\n"),
      IBIND_OAUTH1A_ENCRYPTION_KEY: creds.client.encryptionKey,
      IBIND_OAUTH1A_DH_PRIME: creds.client.dhPrime,
      IBIND_OAUTH1A_REALM: "limited_poa",
    });
    expect(c?.consumerKey).toBe(creds.client.consumerKey);
    expect(c?.signatureKey).toBe(creds.client.signatureKey);
    expect(c?.realm).toBe("limited_poa");
  });

  it("name every missing variable, and never a value", () => {
    let error: IbauthError | undefined;
    try {
      oauth1FromEnv({ IBKR_OAUTH1_ACCESS_TOKEN: creds.client.accessToken });
    } catch (e) {
      error = e as IbauthError;
    }
    expect(error?.code).toBe("ERR_CONFIG");
    expect(error?.message).toBe(
      "config: environment: missing IBKR_OAUTH1_CONSUMER_KEY, IBKR_OAUTH1_ACCESS_TOKEN_SECRET, IBKR_OAUTH1_SIGNATURE_KEY or IBKR_OAUTH1_SIGNATURE_KEY_FILE, IBKR_OAUTH1_ENCRYPTION_KEY or IBKR_OAUTH1_ENCRYPTION_KEY_FILE, IBKR_OAUTH1_DH_PRIME or IBKR_OAUTH1_DH_PARAM_FILE",
    );
  });

  it("read the oauth1: mapping of a config file and refuse unknown keys by name", () => {
    const c = oauth1FromConfig(
      {
        consumer_key: creds.client.consumerKey,
        access_token: creds.client.accessToken,
        access_token_secret: creds.client.accessTokenSecret,
        signature_key_file: "sig.pem",
        encryption_key_file: "enc.pem",
        dh_prime: creds.client.dhPrime,
        realm: "limited_poa",
      },
      "config.yaml",
      source,
    );
    expect(c.encryptionKey).toBe(creds.client.encryptionKey);
    expect(() => oauth1FromConfig({ consumer_keys: "x" }, "config.yaml")).toThrow(
      /config.yaml: unknown oauth1 key consumer_keys/,
    );
  });
});

describe("checkOAuth1 (offline)", () => {
  it("passes portal-like credentials", async () => {
    const findings = await checkOAuth1(creds.client);
    expect(findings.filter((f) => !f.ok)).toEqual([]);
    expect(findings.map((f) => f.field)).toEqual([
      "realm",
      "signatureKey",
      "encryptionKey",
      "accessTokenSecret",
      "dhPrime",
      "dhGenerator",
    ]);
  });

  it("finds a secret for another key, a short prime, a prime that is not safe, and TESTCONS with limited_poa", async () => {
    const other = await generateOauth1Credentials();
    const failed = async (c: Partial<Oauth1Credentials["client"]>) =>
      (await checkOAuth1({ ...creds.client, ...c }))
        .filter((f) => !f.ok)
        .map((f) => `${f.field}: ${f.detail}`);
    expect(await failed({ accessTokenSecret: other.client.accessTokenSecret })).toEqual([
      expect.stringMatching(/^accessTokenSecret: does not decrypt/),
    ]);
    expect(await failed({ dhPrime: createDiffieHellmanGroup("modp2").getPrime("hex") })).toEqual([
      "dhPrime: 1024 bits: IBKR's dhparam.pem is 2048 bits",
    ]);
    const unsafe = generatePrimeSync(2048, { bigint: true });
    expect(await failed({ dhPrime: unsafe.toString(16) })).toEqual([
      expect.stringMatching(/^dhPrime: not a safe prime/),
    ]);
    expect(await failed({ consumerKey: "TESTCONS", realm: "limited_poa" })).toEqual([
      expect.stringMatching(/^realm: test_realm goes only with the TESTCONS/),
    ]);
    const secret = publicEncrypt(
      { key: createPublicKey(creds.client.encryptionKey), padding: constants.RSA_PKCS1_PADDING },
      randomBytes(16),
    ).toString("base64");
    expect(await failed({ accessTokenSecret: secret })).toEqual([]);
  }, 60_000);

  it("never quotes the consumer key, the access token or the secret, and still says what the realm is for", async () => {
    const canaries = { consumerKey: "CANARYCK7", accessToken: "CANARY0a1b2c3d4e5f" };
    const ok = await checkOAuth1({ ...creds.client, ...canaries });
    const wrong = await checkOAuth1({ ...creds.client, ...canaries, realm: "test_realm" });
    for (const findings of [ok, wrong]) {
      const text = JSON.stringify(findings);
      for (const secret of [...Object.values(canaries), creds.client.accessTokenSecret])
        expect(text).not.toContain(secret);
    }
    expect(ok.find((f) => f.field === "realm")?.detail).toBe(
      "limited_poa for a first-party consumer (test_realm is only for TESTCONS)",
    );
    expect(wrong.find((f) => f.field === "realm")).toMatchObject({ ok: false });
    const test = await checkOAuth1({ ...creds.client, consumerKey: "TESTCONS", realm: "test_realm" });
    expect(test.find((f) => f.field === "realm")?.detail).toBe(
      "test_realm for IBKR's test consumer TESTCONS",
    );
  });

  it("a bad signatureKey is named as such, with OAuth 1.0a's requirements (not privateKey's 3072 bits)", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const pem = (o: { privateKey: string }) => o.privateKey;
    const cases = {
      ec: pem(
        generateKeyPairSync("ec", {
          namedCurve: "P-256",
          privateKeyEncoding: { type: "sec1", format: "pem" },
          publicKeyEncoding: { type: "spki", format: "pem" },
        }),
      ),
      short: pem(
        generateKeyPairSync("rsa", {
          modulusLength: 1024,
          privateKeyEncoding: { type: "pkcs8", format: "pem" },
          publicKeyEncoding: { type: "spki", format: "pem" },
        }),
      ),
      public: creds.consumer.signaturePublicKey,
      garbage: "not a key",
    };
    for (const [name, signatureKey] of Object.entries(cases)) {
      const finding = (await checkOAuth1({ ...creds.client, signatureKey })).find(
        (f) => f.field === "signatureKey",
      );
      expect(finding?.ok, name).toBe(false);
      expect(finding?.detail, name).toMatch(/^signatureKey/);
      expect(finding?.detail, name).not.toMatch(/privateKey|3072/);
    }
    const short = (await checkOAuth1({ ...creds.client, signatureKey: cases.short })).find(
      (f) => f.field === "signatureKey",
    );
    expect(short?.detail).toMatch(
      /^signatureKey has 1024 bits; OAuth 1\.0a needs the 2048-bit RSA signature key uploaded in the Self-Service Portal\. Generate the OAuth 1\.0a pairs with `ibauth keygen --oauth1`/,
    );
  });

  it("isProbablePrime agrees with Node's checkPrimeSync", () => {
    for (let i = 0; i < 200; i++) {
      const n = BigInt(`0x${randomBytes(8).toString("hex")}`) | 1n;
      expect(isProbablePrime(n)).toBe(checkPrimeSync(n));
    }
    for (let i = 0; i < 5; i++) expect(isProbablePrime(generatePrimeSync(256, { bigint: true }))).toBe(true);
  });
});
