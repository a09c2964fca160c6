import { spawn } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import type { RunningEmulator } from "@ibauth/emulator";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CANARY_CREDENTIAL,
  CLI,
  expectClean,
  keyCanaries,
  makeKeys,
  runCli,
  startTestEmulator,
  type TestKeys,
  writeWorkspace,
} from "./helpers";

/** The demo's IBKR steps, in order. */
const FLOW_STEPS = [
  "access token",
  "bearer token",
  "brokerage init",
  "validate",
  "tickle",
  "accounts",
  "account summary",
  "logout",
];

let keys: TestKeys;
let server: RunningEmulator;

beforeAll(() => {
  keys = makeKeys();
});
// One emulator per test: its pacing (validate 1/min, then a 10-minute penalty box) is real.
beforeEach(async () => {
  server = await startTestEmulator(keys.publicKeyPem);
});
afterEach(() => server.close());

describe("ibauth demo", () => {
  it("walks every step with a timing and ends with a summary, without escape codes in a pipe", async () => {
    const r = await runCli(["demo", "--bits", "2048"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    for (const step of FLOW_STEPS) {
      expect(r.stdout).toMatch(new RegExp(`✓ ${step} +\\d+(?:\\.\\d+)? m?s`));
    }
    expect(r.stdout.trim().split("\n").at(-1)).toMatch(
      /demo complete: 8 steps, \d+ requests in \d+(?:\.\d+)? m?s \(key generation \d+(?:\.\d+)? m?s, 2048-bit\)/,
    );
    expect(r.stdout).not.toContain("\x1b[");
  });

  it("prints one JSON object with --json", async () => {
    const r = await runCli(["demo", "--json", "--bits", "2048"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ ok: true, command: "demo", bits: 2048 });
    expect(out.steps.map((s: { name: string }) => s.name)).toEqual([
      "generate key",
      "start emulator",
      ...FLOW_STEPS,
    ]);
    expect(out.requests).toBeGreaterThanOrEqual(8);
  });
});

describe("session commands against the emulator over HTTP", () => {
  it("the default smoke test connects, validates, tickles and prints the status", async () => {
    const ws = writeWorkspace(keys, server.url);
    const r = await runCli(["--config", ws.config], { cacheDir: ws.cacheDir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/✓ connect .*brokerage authenticated/);
    expect(r.stdout).toMatch(/✓ validate .*valid, paper/);
    expect(r.stdout).toMatch(/✓ tickle .*idle expiry/);
    expect(r.stdout).toMatch(/session ok: connected · http:\/\/127\.0\.0\.1:\d+ · ip 203\.0\.113\.10/);
    expectClean(r, [CANARY_CREDENTIAL, ...keyCanaries(keys.privateKeyPem)]);
  });

  it("login, status, tickle and logout share one session through the session file", async () => {
    const ws = writeWorkspace(keys, server.url, { session_file: "session.json" });
    const sessionFile = `${ws.dir}/session.json`;
    const run = (cmd: string) => runCli([cmd, "--config", ws.config, "--json"], { cacheDir: ws.cacheDir });

    const login = await run("login");
    expect(login.code).toBe(0);
    expect(JSON.parse(login.stdout)).toMatchObject({
      ok: true,
      command: "login",
      sessionFile,
      status: { state: "connected" },
    });
    expect(statSync(sessionFile).mode & 0o777).toBe(0o600);
    const record = JSON.parse(readFileSync(sessionFile, "utf8"));
    const secrets = [
      CANARY_CREDENTIAL,
      record.accessToken.token,
      record.bearer.token,
      ...keyCanaries(keys.privateKeyPem),
    ];
    const tokensBefore = server.emulator.counts()["POST /oauth2/api/v1/token"];

    const status = await run("status");
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      ok: true,
      command: "status",
      validate: { valid: true },
    });

    const tickle = await run("tickle");
    expect(tickle.code).toBe(0);
    expect(JSON.parse(tickle.stdout)).toMatchObject({
      ok: true,
      command: "tickle",
      action: "tickled",
      status: { brokerage: { authenticated: true } },
    });
    // status and tickle resumed the stored session: no new access token
    expect(server.emulator.counts()["POST /oauth2/api/v1/token"]).toBe(tokensBefore);

    const logout = await run("logout");
    expect(logout.code).toBe(0);
    expect(JSON.parse(logout.stdout)).toMatchObject({ ok: true, command: "logout", loggedOut: true });
    expect(() => statSync(sessionFile)).toThrow();

    const after = await run("status");
    expect(after.code).toBe(1);
    expect(JSON.parse(after.stdout)).toMatchObject({ ok: false, state: "idle" });
    for (const r of [login, status, tickle, logout, after]) expectClean(r, secrets);
  });

  it("a stored session IBKR has dropped is healed by the next run, not reported as a failure", async () => {
    const ws = writeWorkspace(keys, server.url);
    const login = await runCli(["login", "--config", ws.config], { cacheDir: ws.cacheDir });
    expect(login.code).toBe(0);
    server.emulator.expireBearers();
    const bearersBefore = server.emulator.counts()["POST /gw/api/v1/sso-sessions"] ?? 0;
    const smoke = await runCli(["--config", ws.config, "--json"], { cacheDir: ws.cacheDir });
    expect(smoke.code).toBe(0);
    expect(JSON.parse(smoke.stdout)).toMatchObject({ ok: true, validate: { valid: true } });
    expect(server.emulator.counts()["POST /gw/api/v1/sso-sessions"]).toBe(bearersBefore + 1);

    server.emulator.dropBrokerageSession();
    const tickle = await runCli(["tickle", "--config", ws.config, "--json"], { cacheDir: ws.cacheDir });
    expect(JSON.parse(tickle.stdout)).toMatchObject({ ok: true, action: "reinit" });
  });

  it("back-to-back runs stay inside IBKR's pacing (tickle 1/s, validate 1/min): no 429", async () => {
    const ws = writeWorkspace(keys, server.url);
    const run = (args: string[]) =>
      runCli([...args, "--config", ws.config, "--json"], { cacheDir: ws.cacheDir });
    expect((await run([])).code).toBe(0);
    const again = await run([]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).steps[1].detail).toMatch(
      /answer from \d+s ago: IBKR allows one validate a minute/,
    );
    expect((await run(["status"])).code).toBe(0);
    expect((await run(["tickle"])).code).toBe(0);
    expect((await run(["tickle"])).code).toBe(0);
    expect(server.emulator.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(server.emulator.counts()["GET /v1/api/sso/validate"]).toBe(1);
  });

  it("login; status; logout; login; status within a minute: 0 × 429 (the validate minute outlives logout)", async () => {
    const ws = writeWorkspace(keys, server.url);
    const run = (args: string[]) =>
      runCli([...args, "--config", ws.config, "--json"], { cacheDir: ws.cacheDir });
    for (const command of ["login", "status", "logout", "login", "status"])
      expect((await run([command])).code).toBe(0);
    expect(server.emulator.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(server.emulator.counts()["GET /v1/api/sso/validate"]).toBe(2);
  }, 120_000);

  it("two --session files for one username within a minute: 0 × 429 (one pacing record per username)", async () => {
    const ws = writeWorkspace(keys, server.url);
    const run = (args: string[]) =>
      runCli([...args, "--config", ws.config, "--json"], { cacheDir: ws.cacheDir });
    for (const session of [`${ws.cacheDir}/one/a.json`, `${ws.cacheDir}/two/b.json`])
      expect((await run(["--session", session])).code).toBe(0);
    expect(server.emulator.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(server.emulator.counts()["GET /v1/api/sso/validate"]).toBe(2);
  }, 120_000);

  it("--debug logs the steps to stderr and still no secret", async () => {
    const ws = writeWorkspace(keys, server.url);
    const r = await runCli(["login", "--config", ws.config, "--debug"], { cacheDir: ws.cacheDir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/DEBUG/);
    expectClean(r, [CANARY_CREDENTIAL, ...keyCanaries(keys.privateKeyPem)]);
  });
});

describe("ibauth keepalive", () => {
  it("two keepalive processes on one session file: one login, at most one tickle a second in total, 0 × 429", async () => {
    const ws = writeWorkspace(keys, server.url);
    const start = () => {
      const child = spawn(process.execPath, [CLI, "keepalive", "--config", ws.config, "--interval", "1"], {
        env: { PATH: process.env.PATH ?? "", XDG_CACHE_HOME: ws.cacheDir },
      });
      child.stdout.resume();
      child.stderr.resume();
      return { child, exited: new Promise<number | null>((done) => child.on("close", done)) };
    };
    const both = [start(), start()];
    const tickleTimes = () =>
      server.emulator.requests.filter((r) => r.path === "/v1/api/tickle").map((r) => r.at);
    const deadline = Date.now() + 40_000;
    while (tickleTimes().length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const logins = server.emulator.counts()["POST /gw/api/v1/sso-sessions"];
    const times = tickleTimes();
    const refused = server.emulator.requests.filter((r) => r.status === 429);
    // (stopping logs out; the other process may then log in again before its own SIGTERM lands)
    for (const { child } of both) child.kill("SIGTERM");
    for (const { exited } of both) expect(await exited).toBe(0);
    expect(times.length).toBeGreaterThanOrEqual(8);
    for (let i = 1; i < times.length; i++)
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(1000);
    expect(logins).toBe(1);
    expect(refused).toEqual([]);
  }, 60_000);

  it("ticks, logs state changes, and on SIGTERM logs out and exits 0", async () => {
    const ws = writeWorkspace(keys, server.url);
    const logoutsBefore = server.emulator.counts()["POST /v1/api/logout"] ?? 0;
    const child = spawn(process.execPath, [CLI, "keepalive", "--config", ws.config, "--interval", "1"], {
      env: { PATH: process.env.PATH ?? "", XDG_CACHE_HOME: ws.cacheDir },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const exited = new Promise<number | null>((done) => child.on("close", done));
    // Wait for two ticks at a 1 s interval, then stop it the way a service manager would.
    const tickles = () =>
      Object.entries(server.emulator.counts())
        .filter(([k]) => k.endsWith("/v1/api/tickle"))
        .reduce((n, [, c]) => n + c, 0);
    const deadline = Date.now() + 40_000; // generous: the machine is shared
    while (tickles() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stdout).toMatch(/✓ login/);
    expect(stdout).toMatch(/keepalive stopped, logged out/);
    // One line per tick: local time, round trip, state.
    const tickLines = stdout
      .split("\n")
      .filter((l) => /^\d\d:\d\d:\d\d {2}tickle +\d+(?:\.\d+)? m?s {2}connected · /.test(l));
    expect(tickLines.length).toBeGreaterThanOrEqual(2);
    // State changes only: one "connected" line however many ticks ran.
    expect(stderr.match(/session connected/g)).toHaveLength(1);
    expect(server.emulator.counts()["POST /v1/api/logout"]).toBe(logoutsBefore + 1);
    expect(tickles()).toBeGreaterThanOrEqual(2);

    expectClean({ code: 0, signal: null, stdout, stderr }, [
      CANARY_CREDENTIAL,
      ...keyCanaries(keys.privateKeyPem),
    ]);
  }, 60_000);

  it("keeps trying when IBKR is down at start (nightly restart), and logs in once it answers", async () => {
    const ws = writeWorkspace(keys, server.url);
    // The first login's three attempts meet a 503; the keepalive's next tick gets through.
    server.emulator.failNext({ path: "/oauth2/api/v1/token", status: 503, count: 3 });
    const child = spawn(process.execPath, [CLI, "keepalive", "--config", ws.config, "--interval", "1"], {
      env: { PATH: process.env.PATH ?? "", XDG_CACHE_HOME: ws.cacheDir },
    });
    let stderr = "";
    child.stderr.on("data", (c) => (stderr += c));
    const exited = new Promise<number | null>((done) => child.on("close", done));
    const inits = () => server.emulator.counts()["POST /v1/api/iserver/auth/ssodh/init"] ?? 0;
    const before = inits();
    const deadline = Date.now() + 40_000;
    while (inits() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(stderr).toMatch(/login failed \(ERR_HTTP at token\); keepalive keeps trying/);
    expect(inits()).toBe(before + 1);
  }, 60_000);
});
