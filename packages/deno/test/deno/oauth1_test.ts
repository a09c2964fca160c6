// @ts-types="../../../emulator/dist/index.d.ts"
import { createEmulator, generateOauth1Credentials } from "@ibauth/emulator";
import { authFromEnv, authFromYaml } from "../../src/mod.ts";
import * as assert from "./assert.ts";
import { tempDir } from "./helpers.ts";

Deno.test("env: IBKR_OAUTH1_* (key files) and ibind's IBIND_OAUTH1A_* names log in with OAuth 1.0a", async () => {
  const creds = await generateOauth1Credentials({ consumerKey: "DENOCONS1" });
  const emu = createEmulator({ oauth1Consumers: [creds.consumer] });
  const dir = await tempDir();
  Deno.writeTextFileSync(`${dir}/sig.pem`, creds.client.signatureKey, { mode: 0o600 });
  Deno.writeTextFileSync(`${dir}/enc.pem`, creds.client.encryptionKey, { mode: 0o600 });
  const auth = authFromEnv({
    env: {
      IBKR_BASE_URL: "http://127.0.0.1:1",
      IBKR_OAUTH1_CONSUMER_KEY: creds.client.consumerKey,
      IBIND_OAUTH1A_ACCESS_TOKEN: creds.client.accessToken,
      IBIND_OAUTH1A_ACCESS_TOKEN_SECRET: creds.client.accessTokenSecret,
      IBKR_OAUTH1_SIGNATURE_KEY_FILE: `${dir}/sig.pem`,
      IBIND_OAUTH1A_ENCRYPTION_KEY_FP: `${dir}/enc.pem`,
      IBKR_OAUTH1_DH_PRIME: creds.client.dhPrime,
    },
    fetch: emu.fetch,
  });
  assert.equal((await auth.connect()).state, "connected");
  assert.equal(emu.counts()["POST /v1/api/oauth/live_session_token"], 1);
  assert.equal((await auth.fetch("/v1/api/iserver/accounts?x=1")).status, 200);
  await auth.logout();
});

Deno.test("yaml: an oauth1: mapping (key files beside the YAML) logs in with OAuth 1.0a; other keys warn", async () => {
  const creds = await generateOauth1Credentials({ consumerKey: "DENOYAML1" });
  const emu = createEmulator({ oauth1Consumers: [creds.consumer] });
  const dir = await tempDir();
  Deno.writeTextFileSync(`${dir}/private_signature.pem`, creds.client.signatureKey, { mode: 0o600 });
  Deno.writeTextFileSync(`${dir}/private_encryption.pem`, creds.client.encryptionKey, { mode: 0o600 });
  const c = creds.client;
  Deno.writeTextFileSync(
    `${dir}/config.yaml`,
    [
      "base_url: http://127.0.0.1:1",
      "account_id: U1234567",
      "oauth1:",
      `  consumer_key: ${c.consumerKey}`,
      `  access_token: ${c.accessToken}`,
      `  access_token_secret: ${c.accessTokenSecret}`,
      "  signature_key_file: private_signature.pem",
      "  encryption_key_file: private_encryption.pem",
      `  dh_prime: ${c.dhPrime}`,
      "",
    ].join("\n"),
  );
  const warnings: string[] = [];
  const logger = {
    debug: () => {},
    info: () => {},
    warn: (_fields: unknown, message: string) => warnings.push(message),
    error: () => {},
  };
  const auth = authFromYaml(`${dir}/config.yaml`, { fetch: emu.fetch, logger });
  assert.equal((await auth.connect()).state, "connected");
  assert.equal(emu.counts()["POST /v1/api/oauth/live_session_token"], 1);
  assert.equal(auth.status().origin, "http://127.0.0.1:1");
  assert.equal(warnings.length, 1);
  assert.ok(warnings[0]?.includes("unknown key account_id ignored"), warnings[0]);
  await auth.logout();
});
