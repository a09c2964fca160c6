import { generateKeyPairSync } from "node:crypto";
import { once } from "node:events";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import type { RunningEmulator } from "@ibauth/emulator/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CANARY_CREDENTIAL,
  CLIENT_ID,
  type CliResult,
  expectClean,
  keyCanaries,
  makeKeys,
  runCli,
  startTestEmulator,
  type TestKeys,
  tempDir,
  writeWorkspace,
} from "./helpers";

let keys: TestKeys;
let otherKeys: TestKeys;
let server: RunningEmulator;
/** A loopback port nothing listens on (a free one, closed again). */
let closedPort: number;

beforeAll(async () => {
  keys = makeKeys();
  otherKeys = makeKeys();
  server = await startTestEmulator(keys.publicKeyPem);
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((done) => probe.close(done));
});
afterAll(() => server?.close());

const PASSPHRASE = "canary-passphrase-0c4d";

interface Case {
  name: string;
  /** Builds the scenario; returns the CLI arguments (without --debug) and any extra secrets. */
  setup: () => { args: string[]; secrets?: string[]; cwd?: string };
  message: RegExp;
  exit: number;
  /** What stdout holds in human mode; default: a ✗ step for IBKR and network failures, else nothing. */
  stdout?: RegExp;
  /** Checks after the three runs (files left behind, for instance). */
  after?: () => void;
}

let emulatorOut = "";

function withKeyFile(pem: string): string[] {
  const ws = writeWorkspace(keys, server.url);
  writeFileSync(ws.keyFile, pem, { mode: 0o600 });
  return ["--config", ws.config];
}

const CASES: Case[] = [
  {
    name: "a missing config file",
    setup: () => ({ args: ["login", "--config", join(tempDir(), "nope.yaml")] }),
    message: /nope\.yaml: cannot read the config file \(not found\)/,
    exit: 2,
  },
  {
    name: "an unreadable config file",
    setup: () => {
      const dir = tempDir();
      mkdirSync(join(dir, "config.yaml"));
      return { args: ["login"], cwd: dir };
    },
    message: /config\.yaml: cannot read the config file \(is a directory\)/,
    exit: 2,
  },
  {
    name: "malformed YAML",
    setup: () => {
      const ws = writeWorkspace(keys, server.url);
      writeFileSync(
        ws.config,
        `client_id: ${CLIENT_ID}\ncredential: [${CANARY_CREDENTIAL}\nclient_key_id: main\n`,
      );
      return { args: ["login", "--config", ws.config] };
    },
    message: /config\.yaml:\d+:\d+: malformed YAML: /,
    exit: 2,
  },
  {
    name: "missing fields, all named",
    setup: () => {
      const ws = writeWorkspace(keys, server.url);
      writeFileSync(ws.config, "client_key_id: main\ndomain: api.ibkr.com\n");
      return { args: ["status", "--config", ws.config] };
    },
    message: /config\.yaml: missing client_id, credential, private_key_file or private_key/,
    exit: 2,
  },
  {
    name: "an unknown key (a typo)",
    setup: () => {
      const ws = writeWorkspace(keys, server.url, { "client-id": "x" });
      return { args: ["login", "--config", ws.config] };
    },
    message: /^ibauth: config: \S+config\.yaml:8:1: unknown key client-id; did you mean client_id\?$/,
    exit: 2,
  },
  {
    name: "an unreadable key file",
    setup: () => {
      const ws = writeWorkspace(keys, server.url, { private_key_file: "missing.pem" });
      return { args: ["login", "--config", ws.config] };
    },
    message: /missing\.pem: cannot read the private key file \(no such file\)/,
    exit: 2,
  },
  {
    name: "an encrypted PEM",
    setup: () => {
      const { privateKey } = generateKeyPairSync("rsa", {
        modulusLength: 2048,
        privateKeyEncoding: { type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: PASSPHRASE },
        publicKeyEncoding: { type: "spki", format: "pem" },
      });
      return { args: withKeyFile(privateKey), secrets: [PASSPHRASE, ...keyCanaries(privateKey)] };
    },
    message: /the private key is encrypted .*openssl pkey/,
    exit: 2,
  },
  {
    name: "an EC key",
    setup: () => {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      return { args: withKeyFile(privateKey.export({ type: "sec1", format: "pem" }) as string) };
    },
    message: /this is an EC key; IBKR signs with RS256, which needs an RSA key/,
    exit: 2,
  },
  {
    name: "an EC key in PKCS#8",
    setup: () => {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      return { args: withKeyFile(privateKey.export({ type: "pkcs8", format: "pem" }) as string) };
    },
    message: /this is an ec key; IBKR signs with RS256/,
    exit: 2,
  },
  {
    name: "a public key where the private key belongs",
    setup: () => ({ args: withKeyFile(keys.publicKeyPem) }),
    message: /this is a public key, but a private key belongs here/,
    exit: 2,
  },
  {
    name: "a key under 2048 bits",
    setup: () => {
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 1024 });
      return { args: withKeyFile(privateKey.export({ type: "pkcs8", format: "pem" }) as string) };
    },
    message: /the RSA key has 1024 bits; at least 2048 are required/,
    exit: 2,
  },
  {
    name: "an invalid domain",
    setup: () => {
      const ws = writeWorkspace(keys, server.url, { domain: "api.ibkr.com.evil.example" });
      return { args: ["login", "--config", ws.config] };
    },
    message: /config\.yaml:\d+:\d+: .*domain.*api\.ibkr\.com\.evil\.example/,
    exit: 2,
  },
  {
    name: "a key IBKR does not know (401 at the token endpoint)",
    setup: () => {
      const ws = writeWorkspace(otherKeys, server.url);
      return { args: ["login", "--config", ws.config], secrets: keyCanaries(otherKeys.privateKeyPem) };
    },
    message: /token: .*HTTP 401.*key/i,
    exit: 1,
  },
  {
    name: "a paper/live username mix-up (403 at sso-sessions)",
    setup: () => {
      const ws = writeWorkspace(keys, server.url, { credential: "canary-live-user-77aa" });
      return { args: ["login", "--config", ws.config], secrets: ["canary-live-user-77aa"] };
    },
    message: /bearer: .*HTTP 403.*(username|credential)/i,
    exit: 1,
  },
  {
    name: "no IBKR to talk to (network)",
    setup: () => {
      const ws = writeWorkspace(keys, `http://127.0.0.1:${closedPort}`);
      return { args: ["login", "--config", ws.config] };
    },
    // The origin and the errno; nothing listening on loopback is not IBKR's nightly restart.
    message:
      /^ibauth: (token|ip): no HTTP answer from http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. nothing answers at http:\/\/127\.0\.0\.1:\d+ on this machine: start what should listen there \(`ibauth emulator`, a proxy\) or fix base_url$/,
    exit: 3,
  },
  {
    name: "an unknown command",
    setup: () => ({ args: ["logni"] }),
    message: /^ibauth: unknown command logni; did you mean login\? \(see ibauth --help\)$/,
    exit: 2,
  },
  {
    name: "an unknown option, with did-you-mean",
    setup: () => ({ args: ["login", "--confg", "x.yaml"] }),
    message: /^ibauth: unknown option --confg; did you mean --config\? \(see ibauth --help\)$/,
    exit: 2,
  },
  {
    name: "an option that does not apply to the command",
    setup: () => ({ args: ["login", "--interval", "5"] }),
    message: /^ibauth: --interval does not apply to login \(see ibauth help login\)$/,
    exit: 2,
  },
  {
    name: "an option without its value",
    setup: () => ({ args: ["check", "--config"] }),
    message: /^ibauth: --config needs a value \(see ibauth --help\)$/,
    exit: 2,
  },
  {
    name: "keygen --out under a file (ENOTDIR)",
    setup: () => {
      const file = join(tempDir(), "a-file");
      writeFileSync(file, "");
      return { args: ["keygen", "--out", join(file, "keys")] };
    },
    message:
      /^ibauth: cannot create the folder \S+a-file\/keys: a part of the path is a file, not a folder \(ENOTDIR\)$/,
    exit: 2,
  },
  {
    name: "emulator --port in use (EADDRINUSE), and no key written",
    setup: () => {
      emulatorOut = join(tempDir(), "emu");
      return {
        args: ["emulator", "--port", new URL(server.url).port, "--bits", "2048", "--out", emulatorOut],
      };
    },
    after: () => expect(existsSync(emulatorOut)).toBe(false),
    message:
      /^ibauth: cannot listen on 127\.0\.0\.1:\d+: the port is in use \(EADDRINUSE\); choose another --port \(0 picks a free one\)$/,
    exit: 2,
  },
  {
    name: "a session file that cannot be written (ERR_STORE, not 'session kept')",
    setup: () => {
      const ws = writeWorkspace(keys, server.url);
      writeFileSync(join(ws.dir, "a-file"), "");
      return { args: ["login", "--config", ws.config, "--session", join(ws.dir, "a-file", "s.json")] };
    },
    message:
      /^ibauth: store: cannot write the session file \S+a-file\/s\.json \((ENOTDIR|EEXIST)\)\. check that the folder exists and this user may write it, or change session_file$/,
    exit: 2,
    stdout: /^✓ login +\d+(?:\.\d+)? m?s/,
  },
  {
    name: "check: a bad domain fails the endpoints line, not the key",
    setup: () => {
      const ws = writeWorkspace(keys, server.url, { domain: "api.ibkr.com.evil.example" });
      return { args: ["check", "--config", ws.config] };
    },
    message:
      /^ibauth: config: \S+config\.yaml:\d+:\d+: domain "api\.ibkr\.com\.evil\.example" is not an IBKR Web API host/,
    exit: 2,
    stdout: /^✓ config .*\n✓ private key .*\n✗ endpoints +\d+(?:\.\d+)? m?s\n$/,
  },
];

function expectOneLineError(r: CliResult, c: Case): void {
  expect(r.code).toBe(c.exit);
  const errorLines = r.stderr.split("\n").filter((l) => l.startsWith("ibauth: "));
  expect(errorLines).toHaveLength(1);
  expect(errorLines[0]).toMatch(c.message);
}

describe("bad input: one clear line, the documented exit code, no stack, no secret", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { args, secrets = [], cwd } = c.setup();
      const all = [CANARY_CREDENTIAL, ...keyCanaries(keys.privateKeyPem), ...secrets];
      const plain = await runCli(args, cwd ? { cwd } : {});
      expectOneLineError(plain, c);
      if (c.stdout) expect(plain.stdout).toMatch(c.stdout);
      else expect(plain.stdout).toEqual(c.exit === 1 || c.exit === 3 ? expect.stringContaining("✗") : "");
      expectClean(plain, all);

      // Flags first: an option missing its value must stay last.
      const debug = await runCli(["--debug", ...args], cwd ? { cwd } : {});
      expectOneLineError(debug, c);
      expect(debug.stderr).toMatch(/^debug: /m);
      expectClean(debug, all);

      const json = await runCli(["--json", ...args], cwd ? { cwd } : {});
      expect(json.code).toBe(c.exit);
      const out = JSON.parse(json.stdout);
      expect(out.ok).toBe(false);
      expect(`ibauth: ${out.error.message}`).toMatch(c.message);
      // JSON only: stderr holds nothing but JSON log lines.
      for (const line of json.stderr.split("\n").filter(Boolean))
        expect(() => JSON.parse(line), line).not.toThrow();
      expectClean(json, all);
      c.after?.();
    });
  }
});
