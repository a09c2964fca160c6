import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createEmulator } from "@ibauth/emulator";
import { authFromEnv, authFromYaml, fileStore } from "@ibauth/node";
import { beforeAll, describe, expect, it } from "vitest";
import {
  CANARY_CREDENTIAL,
  CLIENT_ID,
  keyCanaries,
  makeKeys,
  type TestKeys,
  tempDir,
  writeWorkspace,
} from "./helpers";

const ORIGIN = "http://127.0.0.1:1";
let keys: TestKeys;

beforeAll(() => {
  keys = makeKeys();
});

function emulator() {
  return createEmulator({
    clients: [{ clientId: CLIENT_ID, keys: { main: keys.publicKeyPem }, credentials: [CANARY_CREDENTIAL] }],
  });
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    IBKR_CLIENT_ID: CLIENT_ID,
    IBKR_CLIENT_KEY_ID: "main",
    IBKR_CREDENTIAL: CANARY_CREDENTIAL,
    IBKR_PRIVATE_KEY: keys.privateKeyPem,
    IBKR_BASE_URL: ORIGIN,
    IBKR_IP_LOOKUP_URL: `${ORIGIN}/__emulator/ip`,
    ...extra,
  };
}

describe("authFromYaml", () => {
  it("reads the Python ibauth keys, resolves the key file against the YAML's folder, and connects", async () => {
    const emu = emulator();
    const ws = writeWorkspace(keys, ORIGIN, { session_file: "state/session.json" });
    const auth = await authFromYaml(ws.config, { fetch: emu.fetch });
    const status = await auth.connect();
    expect(status).toMatchObject({ state: "connected", origin: ORIGIN, ip: "203.0.113.10" });
    // session_file is relative to the YAML too, and now holds the session
    expect(await fileStore(join(ws.dir, "state/session.json")).get()).toMatchObject({ v: 1 });
  });

  it("lets overrides win over the file", async () => {
    const emu = emulator();
    const ws = writeWorkspace(keys, "http://127.0.0.1:2", { credential: "someone-else" });
    const auth = await authFromYaml(ws.config, {
      fetch: emu.fetch,
      baseUrl: ORIGIN,
      credential: CANARY_CREDENTIAL,
    });
    expect((await auth.connect()).state).toBe("connected");
  });

  it("takes alternative_ips as a list and puts them in the session", async () => {
    const emu = emulator();
    const ws = writeWorkspace(keys, ORIGIN, {
      ip: "203.0.113.10",
      alternative_ips: "[198.51.100.1, 198.51.100.2]",
    });
    const auth = await authFromYaml(ws.config, {
      fetch: emu.fetch,
      store: fileStore(join(ws.dir, "s.json")),
    });
    await auth.connect();
    const stored = (await fileStore(join(ws.dir, "s.json")).get()) as {
      bearer: { alternativeIps: string[] };
    };
    expect(stored.bearer.alternativeIps).toEqual(["198.51.100.1", "198.51.100.2"]);
  });

  it("points at the line of a value of the wrong type", async () => {
    const ws = writeWorkspace(keys, ORIGIN, { credential: "{ nested: map }" });
    await expect(authFromYaml(ws.config)).rejects.toMatchObject({
      code: "ERR_CONFIG",
      message: expect.stringMatching(/config\.yaml:3:1: credential must be a text value/),
    });
  });
});

describe("authFromEnv", () => {
  it("reads IBKR_* (PEM text with literal \\n too) and connects", async () => {
    const emu = emulator();
    const oneLine = keys.privateKeyPem.trim().replace(/\n/g, "\\n");
    const auth = await authFromEnv(
      { fetch: emu.fetch },
      env({ IBKR_PRIVATE_KEY: oneLine, IBKR_ALTERNATIVE_IPS: "198.51.100.1, 198.51.100.2" }),
    );
    expect((await auth.connect()).state).toBe("connected");
  });

  it("reads the key from IBKR_PRIVATE_KEY_FILE", async () => {
    const emu = emulator();
    const file = join(tempDir(), "key.pem");
    writeFileSync(file, keys.privateKeyPem, { mode: 0o600 });
    const { IBKR_PRIVATE_KEY: _, ...rest } = env({ IBKR_PRIVATE_KEY_FILE: file });
    const auth = await authFromEnv({ fetch: emu.fetch }, rest);
    expect((await auth.connect()).state).toBe("connected");
  });

  it("names every missing variable in one error, and never the values it has", async () => {
    const error = await authFromEnv({}, { IBKR_CLIENT_KEY_ID: "main", IBKR_DOMAIN: "api.ibkr.com" }).catch(
      (e) => e,
    );
    expect(error).toMatchObject({ code: "ERR_CONFIG" });
    expect(error.message).toBe(
      "config: environment: missing IBKR_CLIENT_ID, IBKR_CREDENTIAL, IBKR_PRIVATE_KEY_FILE or IBKR_PRIVATE_KEY",
    );
  });

  it("rejects a bad key without quoting it", async () => {
    const broken = keys.privateKeyPem.replace(/\n[A-Za-z0-9+/]{64}\n/, "\n!!!!\n");
    const error = await authFromEnv({}, env({ IBKR_PRIVATE_KEY: broken })).catch((e) => e);
    expect(error).toMatchObject({
      code: "ERR_KEY",
      message: expect.stringContaining("IBKR_PRIVATE_KEY: the private key could not be parsed"),
    });
    for (const line of keyCanaries(keys.privateKeyPem))
      expect(JSON.stringify(error) + error.message).not.toContain(line);
  });
});
