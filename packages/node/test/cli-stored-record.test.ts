import { readFileSync, writeFileSync } from "node:fs";
import type { RunningEmulator } from "@ibauth/emulator";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { expectClean, makeKeys, runCli, startTestEmulator, type TestKeys, writeWorkspace } from "./helpers";

const LOGOUT = "POST /v1/api/logout";

let keys: TestKeys;
let server: RunningEmulator;
beforeAll(() => {
  keys = makeKeys();
});
beforeEach(async () => {
  server = await startTestEmulator(keys.publicKeyPem);
});
afterEach(() => server.close());

/** A workspace with a live session stored by `ibauth login`, and that record. */
async function loggedIn() {
  const ws = writeWorkspace(keys, server.url, { session_file: "session.json" });
  const file = `${ws.dir}/session.json`;
  const run = (cmd: string, json = true) =>
    runCli([cmd, "--config", ws.config, ...(json ? ["--json"] : [])], { cacheDir: ws.cacheDir });
  expect((await run("login")).code).toBe(0);
  const record = JSON.parse(readFileSync(file, "utf8"));
  return { run, file, record, token: record.bearer.token as string };
}

describe("ibauth status on an unusable session file", () => {
  it("says the stored record is corrupt, or of another version, without a request", async () => {
    const { run, file, record } = await loggedIn();
    for (const [text, kind, words] of [
      ['{"v":1,"owner":', "corrupt", "corrupt"],
      [JSON.stringify({ ...record, v: 2 }), "unsupported-version", "unsupported version"],
    ]) {
      writeFileSync(file, text);
      const before = server.emulator.requests.length;
      const status = await run("status");
      expect(status.code).toBe(1);
      const out = JSON.parse(status.stdout);
      expect(out).toMatchObject({ ok: false, command: "status", storedRecord: kind });
      const plain = await run("status", false);
      expect(plain.stdout + plain.stderr).toContain(`session.json is ${words}`);
      expect(server.emulator.requests.length).toBe(before);
    }
  });

  it("a record of another configuration: one warning, its orphaned session logged out, and status says so", async () => {
    const { run, file, record, token } = await loggedIn();
    writeFileSync(file, JSON.stringify({ ...record, owner: "another-configuration" }));
    const status = await run("status");
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: true, storedRecord: "foreign-owner" });
    expect(status.stderr.split("\n").filter((line) => line.includes("foreign"))).toHaveLength(1);
    expect(status.stderr).toContain("logged out");
    expect(server.emulator.counts()[LOGOUT]).toBe(1);
    expect(status.stderr + status.stdout).not.toContain("another-configuration");
    expectClean(status, [token]);
  });

  it("`ibauth login` over a record of another version logs its orphaned session out once", async () => {
    const { run, file, record } = await loggedIn();
    writeFileSync(file, JSON.stringify({ ...record, v: 2 }));
    const login = await run("login");
    expect(login.code).toBe(0);
    expect(login.stderr).toContain("unsupported version");
    expect(server.emulator.counts()[LOGOUT]).toBe(1);
    expect(JSON.parse(readFileSync(file, "utf8")).v).toBe(1);
  });
});
