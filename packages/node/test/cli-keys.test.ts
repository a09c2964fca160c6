import { spawn } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { chmodSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CANARY_CREDENTIAL, CLI, expectClean, keyCanaries, runCli, tempDir, writeWorkspace } from "./helpers";

function fingerprintOf(publicPem: string): string {
  const der = createPublicKey(publicPem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex").match(/../g)?.join(":") ?? "";
}

describe("ibauth keygen", () => {
  it("writes a 0600 private key and a public key, and prints the IBKR steps and the fingerprint", async () => {
    const dir = tempDir();
    const r = await runCli(["keygen", "--out", dir, "--bits", "2048"]);
    expect(r.code).toBe(0);
    const priv = join(dir, "private_key.pem");
    const pub = join(dir, "public_key.pem");
    expect(statSync(priv).mode & 0o777).toBe(0o600);
    const key = createPrivateKey(readFileSync(priv, "utf8"));
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(readFileSync(pub, "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(r.stdout).toContain(fingerprintOf(readFileSync(pub, "utf8")));
    expect(r.stdout).toMatch(/Register the public key with IBKR/);
    expectClean(r, keyCanaries(readFileSync(priv, "utf8")));

    const again = await runCli(["keygen", "--out", dir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/private_key\.pem already exists; pass --force/);
  });

  it("refuses a key size below 2048 bits", async () => {
    const r = await runCli(["keygen", "--out", tempDir(), "--bits", "1024"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--bits must be a multiple of 8 from 2048 to 8192/);
  });
});

describe("ibauth check", () => {
  it("reports type, size, PKCS#1 format, loose permissions and the SPKI fingerprint, offline", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pkcs1 = privateKey.export({ type: "pkcs1", format: "pem" }) as string;
    const ws = writeWorkspace({ privateKeyPem: pkcs1, publicKeyPem: "" }, "http://127.0.0.1:1");
    chmodSync(ws.keyFile, 0o644);
    const r = await runCli(["check", "--config", ws.config, "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.key).toMatchObject({ type: "rsa", bits: 2048, format: "PKCS#1", mode: "0644" });
    expect(out.key.fingerprint).toBe(
      fingerprintOf(publicKey.export({ type: "spki", format: "pem" }) as string),
    );
    expect(out.warnings).toEqual([
      "the key has 2048 bits; 3072 or more is recommended",
      `the key file is readable by group or others (mode 0644); run chmod 600 ${ws.keyFile}`,
    ]);
    expectClean(r, [CANARY_CREDENTIAL, ...keyCanaries(pkcs1)]);
  });

  it("is quiet about a good 3072-bit PKCS#8 key in a 0600 file", async () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 3072 });
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const ws = writeWorkspace({ privateKeyPem: pem, publicKeyPem: "" }, "http://127.0.0.1:1");
    const r = await runCli(["check", "--config", ws.config]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ private key .*RSA 3072-bit, PKCS#8, mode 0600/);
    expect(r.stdout).toMatch(/config ok: node-test-client as key main at http:\/\/127\.0\.0\.1:1$/m);
    expect(r.stdout).not.toContain("!");
  });
});

describe("ibauth emulator", () => {
  it("prints a ready config.yaml that the CLI can log in with, and stops on SIGINT", async () => {
    const out = tempDir();
    const child = spawn(process.execPath, [CLI, "emulator", "--out", out, "--bits", "2048"], {
      env: { PATH: process.env.PATH ?? "" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const exited = new Promise<number | null>((done) => child.on("close", done));
    const end = Date.now() + 40_000; // generous: six engineers share two cores
    while (!stdout.includes("ip_lookup_url:") && Date.now() < end)
      await new Promise((r) => setTimeout(r, 50));
    expect(stdout).toMatch(/^base_url: http:\/\/127\.0\.0\.1:\d+$/m);
    const config = join(out, "config.yaml");
    expect(readFileSync(config, "utf8")).toBe(stdout);
    const login = await runCli(["--config", config, "--json"]);
    expect(JSON.parse(login.stdout)).toMatchObject({
      ok: true,
      command: "smoke",
      status: { state: "connected" },
    });
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  }, 60_000);

  it("--oauth1 prints an oauth1: config (portal-like consumer, 0600 key files) that the CLI logs in with", async () => {
    const out = tempDir();
    const child = spawn(process.execPath, [CLI, "emulator", "--oauth1", "--out", out, "--bits", "2048"], {
      env: { PATH: process.env.PATH ?? "" },
    });
    let stdout = "";
    child.stdout.on("data", (c) => (stdout += c));
    const exited = new Promise<number | null>((done) => child.on("close", done));
    const end = Date.now() + 40_000;
    while (!stdout.includes("base_url:") && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    expect(stdout).toMatch(/^oauth1:\n {2}consumer_key: DEMOCONS1\n {2}access_token: [0-9a-f]+$/m);
    expect(stdout).toMatch(/^ {2}signature_key_file: ".*private_signature\.pem"$/m);
    expect(stdout).not.toContain("PRIVATE KEY");
    for (const name of ["private_signature.pem", "private_encryption.pem", "oauth1.env"])
      expect(statSync(join(out, name)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(out, "oauth1.env"), "utf8")).toMatch(/^IBKR_OAUTH1_CONSUMER_KEY=DEMOCONS1$/m);
    const config = join(out, "config.yaml");
    expect(readFileSync(config, "utf8")).toBe(stdout);
    const check = await runCli(["check", "--config", config]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const login = await runCli(["--config", config, "--json"]);
    expect(JSON.parse(login.stdout)).toMatchObject({ ok: true, status: { state: "connected" } });
    child.kill("SIGINT");
    expect(await exited).toBe(0);
  }, 60_000);
});

it("--help lists every command and the exit codes", async () => {
  const r = await runCli(["--help"]);
  expect(r.code).toBe(0);
  for (const cmd of [
    "login",
    "status",
    "tickle",
    "logout",
    "keepalive",
    "keygen",
    "check",
    "emulator",
    "demo",
  ])
    expect(r.stdout).toContain(`  ${cmd} `);
  expect(r.stdout).toMatch(/Exit codes: 0 ok, 1 .*, 2 .*, 3 .*/);
});
