import { spawn } from "node:child_process";
import { statSync } from "node:fs";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";
import { CANARY_CREDENTIAL, keyCanaries, makeKeys, startTestEmulator, writeWorkspace } from "./helpers";

const SERVER = resolve(import.meta.dirname, "../../../examples/node-server/server.mjs");

it("examples/node-server holds a session and serves /health, /accounts and a summary", async () => {
  const keys = makeKeys();
  const emulator = await startTestEmulator(keys.publicKeyPem);
  const ws = writeWorkspace(keys, emulator.url);
  const sessionFile = join(ws.dir, "session.json");
  const child = spawn(process.execPath, [SERVER], {
    cwd: ws.dir,
    env: { PATH: process.env.PATH ?? "", IBAUTH_CONFIG: ws.config, SESSION_FILE: sessionFile, PORT: "0" },
  });
  let logs = "";
  child.stdout.on("data", (c) => (logs += c));
  child.stderr.on("data", (c) => (logs += c));
  const exited = new Promise<number | null>((done) => child.on("close", done));
  try {
    const end = Date.now() + 40_000; // generous: the machine is shared
    while (!/listening url=(\S+)/.test(logs) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const base = logs.match(/listening url=(\S+)/)?.[1];
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ state: "connected", ip: "203.0.113.10" });
    const accounts = (await (await fetch(`${base}/accounts`)).json()) as { accountId: string }[];
    expect(accounts[0]?.accountId).toMatch(/^DU\d+$/);
    const summary = await fetch(`${base}/accounts/${accounts[0]?.accountId}/summary`);
    expect(summary.status).toBe(200);
    expect(statSync(sessionFile).mode & 0o777).toBe(0o600);
  } finally {
    child.kill("SIGTERM");
  }
  expect(await exited).toBe(0);
  expect(emulator.emulator.counts()["POST /v1/api/logout"]).toBe(1);
  for (const secret of [CANARY_CREDENTIAL, ...keyCanaries(keys.privateKeyPem)])
    expect(logs).not.toContain(secret);
  await emulator.close();
}, 60_000);
