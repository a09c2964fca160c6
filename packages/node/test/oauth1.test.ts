// OAuth 1.0a through the Node adapter: the YAML oauth1: mapping (key files and dhparam.pem relative to the
// file) and IBKR_OAUTH1_* / ibind's IBIND_OAUTH1A_* variables, against the emulator.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createEmulator, generateOauth1Credentials, type Oauth1Credentials } from "@ibauth/emulator/node";
import { authFromEnv, authFromYaml, fileStore } from "@ibauth/node";
import { beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "./helpers";

const ORIGIN = "http://127.0.0.1:1";
let creds: Oauth1Credentials;
beforeAll(async () => {
  creds = await generateOauth1Credentials({ consumerKey: "NODECONS1" });
});
const emulator = () => createEmulator({ oauth1Consumers: [creds.consumer] });

/** key files as the portal instructions make them, in a fresh folder */
function workspace(): string {
  const dir = tempDir();
  writeFileSync(join(dir, "private_signature.pem"), creds.client.signatureKey, { mode: 0o600 });
  writeFileSync(join(dir, "private_encryption.pem"), creds.client.encryptionKey, { mode: 0o600 });
  return dir;
}

describe("OAuth 1.0a in the Node adapter", () => {
  it("authFromYaml reads the oauth1: mapping, resolves files against the YAML, keeps the session in session_file", async () => {
    const emu = emulator();
    const dir = workspace();
    const yaml = [
      `base_url: ${ORIGIN}`,
      "session_file: state/session.json",
      "oauth1:",
      `  consumer_key: ${creds.client.consumerKey}`,
      `  access_token: ${creds.client.accessToken}`,
      `  access_token_secret: ${creds.client.accessTokenSecret}`,
      "  signature_key_file: private_signature.pem",
      "  encryption_key_file: private_encryption.pem",
      `  dh_prime: ${creds.client.dhPrime}`,
      "  realm: limited_poa",
    ].join("\n");
    writeFileSync(join(dir, "config.yaml"), yaml);
    const auth = await authFromYaml(join(dir, "config.yaml"), { fetch: emu.fetch });
    expect((await auth.connect()).state).toBe("connected");
    expect(emu.counts()["POST /v1/api/oauth/live_session_token"]).toBe(1);
    const stored = await fileStore(join(dir, "state/session.json")).get();
    expect(stored).toMatchObject({ v: 1, bearer: { expiresAt: expect.any(Number) } });
    // the record holds the LST (0600 file), the key files' content never
    expect(JSON.stringify(stored)).not.toContain(creds.client.accessToken);
  });

  it("authFromEnv reads ibind's IBIND_OAUTH1A_* names unchanged", async () => {
    const emu = emulator();
    const dir = workspace();
    const auth = await authFromEnv(
      { fetch: emu.fetch },
      {
        IBKR_BASE_URL: ORIGIN,
        IBIND_OAUTH1A_CONSUMER_KEY: creds.client.consumerKey,
        IBIND_OAUTH1A_ACCESS_TOKEN: creds.client.accessToken,
        IBIND_OAUTH1A_ACCESS_TOKEN_SECRET: creds.client.accessTokenSecret,
        IBIND_OAUTH1A_SIGNATURE_KEY_FP: join(dir, "private_signature.pem"),
        IBIND_OAUTH1A_ENCRYPTION_KEY_FP: join(dir, "private_encryption.pem"),
        IBIND_OAUTH1A_DH_PRIME: creds.client.dhPrime,
      },
    );
    expect((await auth.connect()).state).toBe("connected");
  });

  it("names the missing IBKR_OAUTH1_* variables and the bad YAML key", async () => {
    await expect(authFromEnv({}, { IBKR_OAUTH1_CONSUMER_KEY: "NODECONS1" })).rejects.toThrow(
      /missing IBKR_OAUTH1_ACCESS_TOKEN, IBKR_OAUTH1_ACCESS_TOKEN_SECRET/,
    );
    const dir = workspace();
    writeFileSync(join(dir, "config.yaml"), "oauth1:\n  consumer_keys: X\n");
    await expect(authFromYaml(join(dir, "config.yaml"))).rejects.toThrow(/unknown oauth1 key consumer_keys/);
  });
});
