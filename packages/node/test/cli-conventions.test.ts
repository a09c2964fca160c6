import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { RunningEmulator } from "@ibauth/emulator/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isLoopback } from "../src/cli/emulator-command";
import {
  CLI,
  type CliResult,
  makeKeys,
  runCli,
  startTestEmulator,
  type TestKeys,
  writeWorkspace,
} from "./helpers";

const VERSION = JSON.parse(readFileSync(resolve(dirname(CLI), "../package.json"), "utf8")).version;
const ROOT = resolve(dirname(CLI), "../../..");

let keys: TestKeys;
let server: RunningEmulator;

beforeAll(async () => {
  keys = makeKeys();
  server = await startTestEmulator(keys.publicKeyPem);
});
afterAll(() => server?.close());

const lines = (text: string) => text.split("\n").filter(Boolean);

/** Starts the CLI and resolves once `ready` matches its stderr; `stop` sends a signal and waits for the exit. */
function startCli(args: string[], ready: RegExp, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? "", ...env } });
  const result: CliResult = { code: null, signal: null, stdout: "", stderr: "" };
  child.stdout.on("data", (c) => (result.stdout += c));
  const exited = new Promise<CliResult>((done) =>
    child.on("close", (code, signal) => done(Object.assign(result, { code, signal }))),
  );
  const started = new Promise<void>((done, fail) => {
    child.stderr.on("data", (c) => {
      result.stderr += c;
      if (ready.test(result.stderr)) done();
    });
    child.on("close", () => fail(new Error(`exited before ready: ${result.stderr}`)));
  });
  return {
    result,
    started,
    stop: (signal: NodeJS.Signals = "SIGINT") => {
      child.kill(signal);
      return exited;
    },
  };
}

describe("everyday conventions", () => {
  it("-V and --version print the version alone", async () => {
    for (const flag of ["-V", "--version"]) {
      const r = await runCli([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
    }
  });

  it("per-command help: `login --help` and `help login` list only login's options", async () => {
    const a = await runCli(["login", "--help"]);
    const b = await runCli(["help", "login"]);
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(lines(a.stdout)[0]).toBe("Usage: ibauth login [options]");
    expect(a.stdout).toMatch(/^ {2}-c, --config FILE +config file/m);
    expect(a.stdout).not.toContain("--interval");
    const overview = await runCli(["--help"]);
    expect(lines(overview.stdout)[1]).toBe("Usage: ibauth [command] [options]");
    expect(overview.stdout).toMatch(/^ {2}completion +print a shell completion script/m);
  });

  it("completion bash completes commands and each command's options; zsh is a compdef; other shells are refused", async () => {
    const bash = await runCli(["completion", "bash"]);
    expect(bash.code).toBe(0);
    const complete = (words: string[]) =>
      spawnSync(
        "bash",
        [
          "-c",
          `eval "$1"; COMP_WORDS=(${words.join(" ")}); COMP_CWORD=${words.length - 1}; _ibauth; echo "\${COMPREPLY[*]}"`,
          "_",
          bash.stdout,
        ],
        { encoding: "utf8" },
      ).stdout.trim();
    expect(complete(["ibauth", "kee"])).toBe("keepalive");
    expect(complete(["ibauth", "keepalive", "--int"])).toBe("--interval");
    expect(complete(["ibauth", "login", "--int"])).toBe("");
    const zsh = await runCli(["completion", "zsh"]);
    expect(lines(zsh.stdout)[0]).toBe("#compdef ibauth");
    expect(zsh.stdout).toContain("compdef _ibauth ibauth");
    const fish = await runCli(["completion", "fish"]);
    expect(fish.code).toBe(2);
    expect(fish.stderr).toBe(
      "ibauth: completion needs a shell: bash or zsh (got fish) (see ibauth --help)\n",
    );
  });

  it("FORCE_COLOR colours a pipe; --json output is JSON only on both streams", async () => {
    const ws = writeWorkspace(keys, server.url);
    const colour = await runCli(["check", "--config", ws.config], { env: { FORCE_COLOR: "1" } });
    expect(colour.code).toBe(0);
    expect(colour.stdout).toContain("\x1b[32m✓\x1b[0m config");
    const json = await runCli(["check", "--config", ws.config, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, command: "check" });
    expect(json.stderr).toBe("");
    // A run that warns: the warning is a JSON line on stderr, stdout one JSON object.
    const warned = writeWorkspace(keys, server.url, { account_id: "U1" });
    const login = await runCli(["login", "--config", warned.config, "--json"], { cacheDir: warned.cacheDir });
    expect(JSON.parse(login.stdout)).toMatchObject({ ok: true, command: "login" });
    expect(lines(login.stderr).map((l) => JSON.parse(l).msg)).toContain(
      `${warned.config}:8:1: unknown key account_id ignored`,
    );
  });
});

describe("the Python ibauth's config, unchanged", () => {
  it("an unknown key is ignored with one warning naming the key, never its value", async () => {
    const ws = writeWorkspace(keys, server.url, { account_id: "U7654321" });
    const r = await runCli(["login", "--config", ws.config], { cacheDir: ws.cacheDir });
    expect(r.code).toBe(0);
    expect(lines(r.stderr)).toContain(`WARN  ${ws.config}:8:1: unknown key account_id ignored step=config`);
    expect(r.stderr + r.stdout).not.toContain("U7654321");
  });

  it("a relative private_key_file found only in the working directory is used, with a warning", async () => {
    const ws = writeWorkspace(keys, server.url);
    mkdirSync(join(ws.dir, "conf"));
    const config = join(ws.dir, "conf", "config.yaml");
    renameSync(ws.config, config);
    const r = await runCli(["check", "--config", config], { cwd: ws.dir });
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toContain(
      `! ${config}:4:1: private_key_file key.pem is not in the config's folder; using ${ws.keyFile} from the working directory (write the path relative to the config file, or absolute)`,
    );
  });
});

describe("honest answers", () => {
  it("Ctrl-C during login prints one line and exits 130", async () => {
    const ws = writeWorkspace(keys, server.url);
    server.emulator.failNext({ path: "/oauth2/api/v1/token", kind: "hang" });
    const tokens = () => server.emulator.counts()["POST /oauth2/api/v1/token"] ?? 0;
    const before = tokens();
    const child = spawn(process.execPath, [CLI, "login", "--config", ws.config], {
      env: { PATH: process.env.PATH ?? "", XDG_CACHE_HOME: ws.cacheDir },
    });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    const exited = new Promise<number | null>((done) => child.on("close", done));
    const deadline = Date.now() + 30_000;
    while (tokens() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGINT");
    expect(await exited).toBe(130);
    expect(lines(stderr).filter((l) => l.startsWith("ibauth: "))).toEqual([
      "ibauth: interrupted (Ctrl-C) during login",
    ]);
    server.emulator.reset();
  }, 40_000);

  it("status says when validate's answer is cached, and a tickle catches a session that died since", async () => {
    const ws = writeWorkspace(keys, server.url);
    const run = (cmd: string) => runCli([cmd, "--config", ws.config], { cacheDir: ws.cacheDir });
    expect((await run("login")).code).toBe(0);
    const fresh = await run("status");
    expect(fresh.code).toBe(0);
    expect(lines(fresh.stdout).at(-1)).toMatch(/^session valid: connected · /);
    const cached = await run("status");
    expect(cached.code).toBe(0);
    expect(lines(cached.stdout).at(-1)).toMatch(
      /^session valid: connected · .* \(validate answer cached from \d+s ago; checked by a tickle just now\)$/,
    );
    server.emulator.dropBrokerageSession();
    const dead = await run("status");
    expect(dead.code).toBe(1);
    expect(lines(dead.stdout)[1]).toMatch(/^✓ tickle +\d+(?:\.\d+)? m?s {2}brokerage NOT authenticated/);
    expect(lines(dead.stdout).at(-1)).toMatch(/^session NOT valid: /);
  }, 40_000);

  it("emulator --log prints one line per request, says when it stops, and removes its temp folder", async () => {
    const emu = startCli(["emulator", "--bits", "2048", "--log"], /emulator running at/);
    await emu.started;
    const url = /emulator running at (\S+);/.exec(emu.result.stderr)![1]!;
    const dir = /and removes (\S+)$/m.exec(emu.result.stderr)![1]!;
    expect(existsSync(join(dir, "config.yaml"))).toBe(true);
    const res = await fetch(`${url}/v1/api/sso/validate`, { headers: { "User-Agent": "test" } });
    await res.body?.cancel();
    const r = await emu.stop("SIGINT");
    expect(r.code).toBe(0);
    expect(lines(r.stderr)).toContainEqual(
      expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d {2}GET /v1/api/sso/validate ${res.status}$`)),
    );
    expect(lines(r.stderr).at(-1)).toBe(`emulator stopped after 1 request; removed ${dir}`);
    expect(existsSync(dir)).toBe(false);
  });

  it("the emulator's beyond-loopback warning fires for every address but loopback", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"])
      expect(isLoopback(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "192.168.1.5", "example.com"])
      expect(isLoopback(host), host).toBe(false);
  });
});

describe("npm run ibauth from a sub-folder", () => {
  it("resolves --config against the folder npm was started in (INIT_CWD), not the repo root", () => {
    const ws = writeWorkspace(keys, server.url);
    const r = spawnSync(
      process.execPath,
      [join(ROOT, "scripts/ibauth.mjs"), "check", "--config", "config.yaml"],
      {
        cwd: ROOT,
        encoding: "utf8",
        env: { ...process.env, INIT_CWD: ws.dir, NO_COLOR: "1" },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(lines(r.stdout)[0]).toMatch(/^✓ config +\d+(?:\.\d+)? m?s {2}config\.yaml$/);
  });
});
