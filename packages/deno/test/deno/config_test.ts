import {
  authFromEnv,
  authFromYaml,
  IBAuth,
  isIbauthError,
  optionsFromEnv,
  optionsFromYaml,
} from "../../src/mod.ts";
import * as assert from "./assert.ts";
import { CANARY, captureLogger, clientKeys, pemFragments, tempDir } from "./helpers.ts";

function codeOf(error: unknown): string | undefined {
  return isIbauthError(error) ? error.code : undefined;
}

const FULL_ENV = {
  IBKR_CLIENT_ID: "client-a",
  IBKR_CLIENT_KEY_ID: "main",
  IBKR_CREDENTIAL: CANARY.credential,
  IBKR_DOMAIN: "5.api.ibkr.com",
  IBKR_BASE_URL: "http://127.0.0.1:9",
  IBKR_IP: "198.51.100.7",
  IBKR_ALTERNATIVE_IPS: " 198.51.100.8, ,198.51.100.9 ",
  IBKR_IP_LOOKUP_URL: "http://127.0.0.1:9/ip",
  IBAUTH_USER_AGENT: "my-bot/1.0",
};

Deno.test("env: every variable of the core's ENV_NAMES lands in its option", async () => {
  const { privateKeyPem } = await clientKeys();
  assert.deepEqual(optionsFromEnv({ env: { ...FULL_ENV, IBKR_PRIVATE_KEY: privateKeyPem } }), {
    clientId: "client-a",
    clientKeyId: "main",
    credential: CANARY.credential,
    privateKey: privateKeyPem,
    domain: "5.api.ibkr.com",
    baseUrl: "http://127.0.0.1:9",
    ip: "198.51.100.7",
    alternativeIps: ["198.51.100.8", "198.51.100.9"],
    ipLookupUrl: "http://127.0.0.1:9/ip",
    userAgent: "my-bot/1.0",
  });
});

Deno.test("env: Deno.env is the default source", async () => {
  const { privateKeyPem } = await clientKeys();
  const vars = { ...FULL_ENV, IBKR_PRIVATE_KEY: privateKeyPem };
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  try {
    assert.equal(optionsFromEnv().clientId, "client-a");
    assert.ok(authFromEnv() instanceof IBAuth);
  } finally {
    for (const k of Object.keys(vars)) Deno.env.delete(k);
  }
});

Deno.test("env: a one-line PEM with literal \\n escapes gets its line breaks back", async () => {
  const { privateKeyPem } = await clientKeys();
  const oneLine = privateKeyPem.trim().replaceAll("\n", "\\n");
  const options = optionsFromEnv({ env: { ...FULL_ENV, IBKR_PRIVATE_KEY: oneLine } });
  assert.equal(options.privateKey, privateKeyPem.trim());
});

Deno.test("env: IBKR_PRIVATE_KEY_FILE is read from disk", async () => {
  const { privateKeyPem } = await clientKeys();
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/key.pem`, privateKeyPem);
  const options = optionsFromEnv({ env: { ...FULL_ENV, IBKR_PRIVATE_KEY_FILE: `${dir}/key.pem` } });
  assert.equal(options.privateKey, privateKeyPem);
});

Deno.test("env: every missing variable is named in one ERR_CONFIG", () => {
  assert.throws(
    () => optionsFromEnv({ env: { IBKR_CLIENT_KEY_ID: "main", IBKR_CLIENT_ID: "  " } }),
    (error: unknown) => {
      assert.equal(codeOf(error), "ERR_CONFIG");
      const message = (error as Error).message;
      for (const name of ["IBKR_CLIENT_ID", "IBKR_CREDENTIAL", "IBKR_PRIVATE_KEY or IBKR_PRIVATE_KEY_FILE"]) {
        assert.ok(message.includes(name), `${name} not named in: ${message}`);
      }
      assert.ok(!message.includes("IBKR_CLIENT_KEY_ID"), "a variable that is set was reported missing");
      return true;
    },
  );
});

Deno.test("env: overrides win over the environment and fill what it lacks", async () => {
  const { privateKeyPem } = await clientKeys();
  const options = optionsFromEnv({
    env: { IBKR_CLIENT_ID: "from-env", IBKR_CLIENT_KEY_ID: "main", IBKR_PRIVATE_KEY: "not read: overridden" },
    clientId: "from-override",
    credential: CANARY.credential,
    privateKey: privateKeyPem,
  });
  assert.equal(options.clientId, "from-override");
  assert.equal(options.credential, CANARY.credential);
  assert.equal(options.privateKey, privateKeyPem);
});

Deno.test("env: a missing key file names the variable and path, nothing else", async () => {
  const dir = await tempDir();
  assert.throws(
    () => optionsFromEnv({ env: { ...FULL_ENV, IBKR_PRIVATE_KEY_FILE: `${dir}/absent.pem` } }),
    (error: unknown) => {
      assert.equal(codeOf(error), "ERR_CONFIG");
      assert.equal((error as { field?: string }).field, "IBKR_PRIVATE_KEY_FILE");
      assert.match((error as Error).message, /absent\.pem: no such file/);
      return true;
    },
  );
});

Deno.test("env: a public key instead of the private one is refused with a hint and no key text", async () => {
  const { publicKeyPem } = await clientKeys();
  assert.throws(
    () => optionsFromEnv({ env: { ...FULL_ENV, IBKR_PRIVATE_KEY: publicKeyPem } }),
    (error: unknown) => {
      assert.equal(codeOf(error), "ERR_KEY");
      assert.match((error as Error).message, /public key you registered/);
      for (const fragment of pemFragments(publicKeyPem))
        assert.ok(!(error as Error).message.includes(fragment));
      return true;
    },
  );
});

async function writeYaml(text: string, keyPem?: string): Promise<string> {
  const dir = await tempDir();
  await Deno.mkdir(`${dir}/conf/keys`, { recursive: true });
  if (keyPem) await Deno.writeTextFile(`${dir}/conf/keys/private.pem`, keyPem);
  await Deno.writeTextFile(`${dir}/conf/config.yaml`, text);
  return `${dir}/conf/config.yaml`;
}

const PYTHON_YAML = `# the Python ibauth package's config
client_id: 12345
client_key_id: main
credential: ${CANARY.credential}
private_key_file: keys/private.pem
domain: 5.api.ibkr.com
base_url: http://127.0.0.1:9
ip: 198.51.100.7
alternative_ips: [198.51.100.8, 198.51.100.9]
ip_lookup_url: http://127.0.0.1:9/ip
user_agent: my-bot/1.0
`;

Deno.test("yaml: the Python ibauth format, key file relative to the YAML's folder", async () => {
  const { privateKeyPem } = await clientKeys();
  const path = await writeYaml(PYTHON_YAML, privateKeyPem);
  const expected = {
    clientId: "12345",
    clientKeyId: "main",
    credential: CANARY.credential,
    privateKey: privateKeyPem,
    domain: "5.api.ibkr.com",
    baseUrl: "http://127.0.0.1:9",
    ip: "198.51.100.7",
    alternativeIps: ["198.51.100.8", "198.51.100.9"],
    ipLookupUrl: "http://127.0.0.1:9/ip",
    userAgent: "my-bot/1.0",
  };
  assert.deepEqual(optionsFromYaml(path), expected);
  // The same file given as a file: URL (e.g. new URL("./config.yaml", import.meta.url)).
  assert.deepEqual(optionsFromYaml(new URL(`file://${path}`)), expected);
  assert.ok(authFromYaml(path) instanceof IBAuth);
});

Deno.test("yaml: every missing key is named in one ERR_CONFIG", async () => {
  const path = await writeYaml("client_key_id: main\ndomain: api.ibkr.com\n");
  assert.throws(
    () => optionsFromYaml(path),
    (error: unknown) => {
      assert.equal(codeOf(error), "ERR_CONFIG");
      assert.match(
        (error as Error).message,
        /missing client_id, credential, private_key or private_key_file/,
      );
      return true;
    },
  );
});

Deno.test("yaml: overrides win and stand in for missing keys", async () => {
  const { privateKeyPem } = await clientKeys();
  const path = await writeYaml("client_id: from-file\nclient_key_id: main\n");
  const options = optionsFromYaml(path, {
    clientId: "from-override",
    credential: CANARY.credential,
    privateKey: privateKeyPem,
  });
  assert.equal(options.clientId, "from-override");
  assert.equal(options.credential, CANARY.credential);
  assert.equal(options.privateKey, privateKeyPem);
});

Deno.test("yaml: a near-typo of a known key is refused with did you mean", async () => {
  const path = await writeYaml("client-id: a\nclient_key_id: main\n");
  assert.throws(
    () => optionsFromYaml(path),
    (e: unknown) =>
      codeOf(e) === "ERR_CONFIG" &&
      (e as Error).message.endsWith(`${path}: unknown key client-id; did you mean client_id?`),
  );
});

Deno.test("yaml: a key ibauth does not use is ignored with one warning naming it, never its value", async () => {
  const { privateKeyPem } = await clientKeys();
  const path = await writeYaml(`${PYTHON_YAML}account_id: ${CANARY.clientId}\n`, privateKeyPem);
  const { logger, lines } = captureLogger();
  assert.equal(optionsFromYaml(path, { logger }).clientId, "12345");
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0] as string).msg, `${path}: unknown key account_id ignored`);
  // Without a logger, on console.warn (stderr), as one line.
  const warned: unknown[][] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => warned.push(args);
  try {
    optionsFromYaml(path);
  } finally {
    console.warn = original;
  }
  assert.deepEqual(warned, [[`ibauth warning: ${path}: unknown key account_id ignored`]]);
  assert.ok(!JSON.stringify([lines, warned]).includes(CANARY.clientId));
});

Deno.test("yaml: an inline private_key is checked like a key file", async () => {
  const { publicKeyPem } = await clientKeys();
  const path = await writeYaml(
    `client_id: a\nclient_key_id: main\ncredential: u\nprivate_key: ${JSON.stringify(publicKeyPem)}\n`,
  );
  assert.throws(
    () => optionsFromYaml(path),
    (e: unknown) => codeOf(e) === "ERR_KEY" && (e as { field?: string }).field === "private_key",
  );
});

Deno.test("yaml: a syntax error gives the position, never the offending line (canary)", async () => {
  const path = await writeYaml(`client_id: a\ncredential: "${CANARY.credential}\n  private_key_file: [x\n`);
  assert.throws(
    () => optionsFromYaml(path),
    (error: unknown) => {
      assert.equal(codeOf(error), "ERR_CONFIG");
      assert.match((error as Error).message, /not valid YAML \(\w+ at line \d+, column \d+\)/);
      assert.ok(
        !(error as Error).message.includes(CANARY.credential),
        "the credential leaked into the error",
      );
      return true;
    },
  );
});

Deno.test("yaml: wrong value types and non-mapping files are config errors", async () => {
  assert.throws(
    () => optionsFromYaml(writeYamlSync("client_id: [a, b]\n")),
    (e: unknown) => {
      assert.equal((e as { field?: string }).field, "client_id");
      return codeOf(e) === "ERR_CONFIG";
    },
  );
  assert.throws(() => optionsFromYaml(writeYamlSync("- just\n- a list\n")), /must be a YAML mapping/);
  assert.throws(
    () => optionsFromYaml(writeYamlSync("alternative_ips: {a: 1}\n")),
    /alternative_ips must be a string/,
  );
});

Deno.test("yaml: an unreadable config path is ERR_CONFIG naming the path", async () => {
  const dir = await tempDir();
  assert.throws(
    () => optionsFromYaml(`${dir}/none.yaml`),
    (e: unknown) => {
      assert.match((e as Error).message, /none\.yaml: no such file/);
      return codeOf(e) === "ERR_CONFIG";
    },
  );
});

function writeYamlSync(text: string): string {
  const root = Deno.env.get("IBAUTH_TEST_TMP");
  const dir = Deno.makeTempDirSync(root ? { dir: root } : {});
  Deno.writeTextFileSync(`${dir}/c.yaml`, text);
  return `${dir}/c.yaml`;
}

Deno.test({
  name: "permissions: no env access is ERR_CONFIG naming --allow-env (env and YAML alike)",
  permissions: { env: false, read: true, write: false, net: false },
  fn() {
    const isEnvHint = (e: unknown) => codeOf(e) === "ERR_CONFIG" && /--allow-env/.test((e as Error).message);
    assert.throws(() => optionsFromEnv(), isEnvHint);
    // The npm yaml parser reads LOG_TOKENS / LOG_STREAM from the environment.
    assert.throws(() => optionsFromYaml(yamlWithKeyPath), isEnvHint);
  },
});

Deno.test({
  name: "permissions: no read access is ERR_CONFIG naming --allow-read",
  permissions: { env: true, read: false, write: false, net: false },
  fn() {
    assert.throws(
      () => optionsFromEnv({ env: { ...FULL_ENV, IBKR_PRIVATE_KEY_FILE: "/some/key.pem" } }),
      (e: unknown) => codeOf(e) === "ERR_CONFIG" && /--allow-read/.test((e as Error).message),
    );
  },
});

// Written before the permission tests drop write access.
const yamlWithKeyPath = writeYamlSync(
  `client_id: a\nclient_key_id: main\ncredential: u\nprivate_key_file: k.pem\n`,
);
