// The ibauth CLI in OAuth 1.0a mode: a config.yaml with an oauth1: mapping, the real CLI as a child
// process over real HTTP against the emulator started with oauth1Consumers.
import { spawn } from "node:child_process";
import { constants, createPrivateKey, getDiffieHellman, publicEncrypt, randomBytes } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dhParamsFromPem } from "@ibauth/core";
import {
  generateOauth1Credentials,
  type Oauth1Credentials,
  type RunningEmulator,
  startEmulator,
} from "@ibauth/emulator/node";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { CLI, expectClean, keyCanaries, runCli, tempDir } from "./helpers";

let creds: Oauth1Credentials;
let emu: RunningEmulator;
beforeAll(async () => {
  creds = await generateOauth1Credentials({ consumerKey: "CLICONSKY" });
});
// a fresh emulator per test: the strict emulator's pacing and penalties must not carry over
beforeEach(async () => {
  emu = await startEmulator({ oauth1Consumers: [creds.consumer] });
});
afterEach(() => emu.close());

/** Everything the portal hands out or the user keeps: none may reach stdout or stderr. */
function secrets(): string[] {
  const c = creds.client;
  return [
    c.consumerKey,
    c.accessToken,
    c.accessTokenSecret,
    creds.consumer.accessTokenSecret,
    ...keyCanaries(c.signatureKey),
    ...keyCanaries(c.encryptionKey),
  ];
}

/** A folder with the two private keys (0600) and a config.yaml whose oauth1: mapping names them. */
export function oauth1Workspace(
  c: Oauth1Credentials["client"],
  url: string,
  dhLine = `dh_prime: ${c.dhPrime}`,
) {
  const dir = tempDir();
  writeFileSync(join(dir, "private_signature.pem"), c.signatureKey, { mode: 0o600 });
  writeFileSync(join(dir, "private_encryption.pem"), c.encryptionKey, { mode: 0o600 });
  const config = join(dir, "config.yaml");
  writeFileSync(
    config,
    [
      `base_url: ${url}`,
      "oauth1:",
      `  consumer_key: ${c.consumerKey}`,
      `  access_token: ${c.accessToken}`,
      `  access_token_secret: ${c.accessTokenSecret}`,
      "  signature_key_file: private_signature.pem",
      "  encryption_key_file: private_encryption.pem",
      `  ${dhLine}`,
      "",
    ].join("\n"),
  );
  return { dir, config, cacheDir: join(dir, "cache") };
}

const lstCount = () => emu.emulator.counts()["POST /v1/api/oauth/live_session_token"] ?? 0;

describe("ibauth session commands in OAuth 1.0a mode", () => {
  it("login, status, tickle, logout: exit codes, one LST for all of them, no secret in the output", async () => {
    const ws = oauth1Workspace(creds.client, emu.url);
    const run = (args: string[]) => runCli([...args, "--config", ws.config], { cacheDir: ws.cacheDir });
    const login = await run(["login", "--debug"]);
    expect(login.code).toBe(0);
    expect(login.stdout).toMatch(/^✓ login +\d+ ms {2}brokerage authenticated, connected$/m);
    expect(login.stderr).toMatch(/live session token computed step=lst reason=login/);
    const status = await run(["status", "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: true, command: "status", valid: true });
    const tickle = await run(["tickle", "--debug"]);
    expect(tickle.code).toBe(0);
    expect(tickle.stdout).toMatch(
      /^tickled: connected · http:\/\/127\.0\.0\.1:\d+ · brokerage authenticated, connected/m,
    );
    // the session file carried the LST from run to run
    expect(lstCount()).toBe(1);
    const logout = await run(["logout", "--debug", "--json"]);
    expect(logout.code).toBe(0);
    expect(JSON.parse(logout.stdout)).toMatchObject({ ok: true });
    const after = await run(["status"]);
    expect(after.code).toBe(1);
    expect(after.stdout).toMatch(/^no session stored in .*; run `ibauth login`/m);

    for (const r of [login, status, tickle, logout, after]) expectClean(r, secrets());
  });

  it("the smoke test (no command) connects, validates and tickles", async () => {
    const ws = oauth1Workspace(creds.client, emu.url);
    const r = await runCli(["--config", ws.config, "--debug"], { cacheDir: ws.cacheDir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^✓ connect /m);
    expect(r.stdout).toMatch(/^✓ tickle /m);
    expectClean(r, secrets());
  });

  it("an access token IBKR does not know: exit 1 at the LST step, no secret in the output", async () => {
    const wrong = { ...creds.client, accessToken: "0123456789abcdef0123" };
    const ws = oauth1Workspace(wrong, emu.url);
    for (const extra of [["--debug"], ["--json"]]) {
      const r = await runCli(["login", "--config", ws.config, ...extra], { cacheDir: ws.cacheDir });
      expect(r.code).toBe(1);
      if (extra[0] === "--json")
        expect(JSON.parse(r.stdout).error).toMatchObject({ code: "ERR_AUTH", step: "lst", status: 401 });
      else expect(r.stderr).toContain("ibauth: lst: IBKR refused the live session token request (HTTP 401");
      expectClean(r, [...secrets(), wrong.accessToken]);
    }
  });

  it("keepalive logs in, tickles, and on SIGTERM logs out and exits 0", async () => {
    const ws = oauth1Workspace(creds.client, emu.url);
    const child = spawn(
      process.execPath,
      [CLI, "keepalive", "--config", ws.config, "--interval", "1", "--debug"],
      {
        env: { PATH: process.env.PATH ?? "", XDG_CACHE_HOME: ws.cacheDir },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const exited = new Promise<number | null>((done) => child.on("close", done));
    const deadline = Date.now() + 40_000; // generous: the machine is shared
    while (!/tickle +\d/.test(stdout) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/✓ login/);
    expect(stdout).toMatch(/keepalive stopped, logged out/);
    expectClean({ code: 0, signal: null, stdout, stderr }, secrets());
  });
});

describe("ibauth check in OAuth 1.0a mode", () => {
  it("prints one line per part, offline, and exits 0", async () => {
    const ws = oauth1Workspace(creds.client, "http://127.0.0.1:1");
    const r = await runCli(["check", "--config", ws.config]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n").slice(1, 7);
    expect(lines).toEqual([
      "✓ realm           limited_poa for a first-party consumer (test_realm is only for TESTCONS)",
      "✓ signature key   RSA 2048 bits, signs RSA-SHA256",
      "✓ encryption key  RSA 2048 bits",
      "✓ token secret    decrypts with encryptionKey (24 bytes)",
      "✓ DH prime        a safe 2048-bit prime",
      "✓ DH generator    2",
    ]);
    expect(r.stdout).toMatch(/^✓ config +\d+ ms {2}.*config\.yaml \(OAuth 1\.0a\)$/m);
    expect(r.stdout).toMatch(/^config ok: OAuth 1\.0a at http:\/\/127\.0\.0\.1:1$/m);
    expectClean(r, secrets());
  });

  it("a secret from another encryption key and a prime that is not safe: exit 2 naming both", async () => {
    const other = await generateOauth1Credentials({ consumerKey: "CLICONSKY" });
    const notSafe = (BigInt(`0x${creds.client.dhPrime}`) + 2n).toString(16);
    const ws = oauth1Workspace(
      { ...creds.client, encryptionKey: other.client.encryptionKey },
      "http://127.0.0.1:1",
      `dh_prime: ${notSafe}`,
    );
    const r = await runCli(["check", "--config", ws.config, "--debug"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/^✗ token secret {4}does not decrypt with encryptionKey/m);
    expect(r.stdout).toMatch(/^✗ DH prime {8}not a safe prime/m);
    expect(r.stdout).toMatch(/^✓ signature key /m);
    expect(r.stderr).toContain(
      "OAuth 1.0a check failed: token secret (oauth1.access_token_secret), DH prime (oauth1.dh_prime or oauth1.dh_param_file)",
    );
    const json = await runCli(["check", "--config", ws.config, "--json"]);
    expect(json.code).toBe(2);
    const parsed = JSON.parse(json.stdout);
    expect(parsed.error).toMatchObject({ code: "ERR_CONFIG", field: "oauth1.access_token_secret" });
    expect(parsed.steps.filter((s: { ok: boolean }) => !s.ok).map((s: { name: string }) => s.name)).toEqual([
      "token secret",
      "DH prime",
    ]);
    for (const out of [r, json]) expectClean(out, [...secrets(), ...keyCanaries(other.client.encryptionKey)]);
  });
});

describe("ibauth keygen --oauth1", () => {
  it("writes the two 2048-bit pairs (private 0600) and dhparam.pem, prints the portal steps; the files log in", async () => {
    const dir = tempDir();
    const r = await runCli(["keygen", "--oauth1", "--modp", "--out", dir]);
    expect(r.code).toBe(0);
    for (const name of ["private_signature.pem", "private_encryption.pem"]) {
      expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600);
      expect(
        createPrivateKey(readFileSync(join(dir, name), "utf8")).asymmetricKeyDetails?.modulusLength,
      ).toBe(2048);
      expectClean(r, keyCanaries(readFileSync(join(dir, name), "utf8")));
    }
    const dh = dhParamsFromPem(readFileSync(join(dir, "dhparam.pem"), "utf8"));
    expect(dh).toEqual({ dhPrime: getDiffieHellman("modp14").getPrime("hex"), dhGenerator: 2 });
    expect(r.stdout).toMatch(/^✓ DH prime +\d+ ms {2}RFC 3526 group 14 \(2048-bit MODP\), generator 2$/m);
    expect(r.stdout).toContain(
      "  2. Upload public_signature.pem as the public signing key, public_encryption.pem as the\n" +
        "     public encryption key and dhparam.pem as the Diffie-Hellman parameters (public files only).",
    );
    expect(r.stdout).toContain(`         dh_param_file: ${join(dir, "dhparam.pem")}\n`);
    expect(r.stdout).toMatch(/^OAuth 1\.0a files written in \d+ ms$/m);

    // what the portal would do with the public files: encrypt a secret, then accept the LST request
    const secret = randomBytes(24);
    const encrypted = publicEncrypt(
      { key: readFileSync(join(dir, "public_encryption.pem")), padding: constants.RSA_PKCS1_PADDING },
      secret,
    ).toString("base64");
    const consumer = {
      consumerKey: "KEYGENCON",
      accessToken: randomBytes(10).toString("hex"),
      accessTokenSecret: secret.toString("base64"),
      signaturePublicKey: readFileSync(join(dir, "public_signature.pem"), "utf8"),
      encryptionPublicKey: readFileSync(join(dir, "public_encryption.pem"), "utf8"),
      dhPrime: dh.dhPrime,
      realm: "limited_poa",
      credential: "keygenuser",
    };
    await emu.close();
    emu = await startEmulator({ oauth1Consumers: [consumer] });
    const config = join(dir, "config.yaml");
    writeFileSync(
      config,
      [
        `base_url: ${emu.url}`,
        "oauth1:",
        `  consumer_key: ${consumer.consumerKey}`,
        `  access_token: ${consumer.accessToken}`,
        `  access_token_secret: ${encrypted}`,
        "  signature_key_file: private_signature.pem",
        "  encryption_key_file: private_encryption.pem",
        "  dh_param_file: dhparam.pem",
        "",
      ].join("\n"),
    );
    const check = await runCli(["check", "--config", config]);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^✓ token secret {4}decrypts with encryptionKey \(24 bytes\)$/m);
    const login = await runCli(["login", "--config", config], { cacheDir: join(dir, "cache") });
    expect(login.code).toBe(0);
    for (const out of [check, login])
      expectClean(out, [consumer.accessToken, encrypted, consumer.accessTokenSecret]);

    const again = await runCli(["keygen", "--oauth1", "--modp", "--out", dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`${join(dir, "private_signature.pem")} already exists; pass --force`);
  });

  it("--oauth1 and --modp belong to keygen only; --bits does not apply to OAuth 1.0a keys", async () => {
    const modp = await runCli(["keygen", "--modp", "--out", tempDir()]);
    expect(modp.code).toBe(2);
    expect(modp.stderr).toContain("--modp chooses the DH group of `keygen --oauth1`; add --oauth1");
    const bits = await runCli(["keygen", "--oauth1", "--bits", "3072", "--out", tempDir()]);
    expect(bits.code).toBe(2);
    expect(bits.stderr).toContain(
      "--bits does not apply to --oauth1: IBKR's OAuth 1.0a keys are 2048-bit RSA",
    );
    const check = await runCli(["check", "--oauth1"]);
    expect(check.code).toBe(2);
    expect(check.stderr).toContain("--oauth1 does not apply to check (see ibauth help check)");
  });
});
