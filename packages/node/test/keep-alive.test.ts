import { spawn } from "node:child_process";
import { IBAuth, type Logger } from "@ibauth/core";
import { createEmulator, type Emulator } from "@ibauth/emulator";
import { keepAlive } from "@ibauth/node";
import { beforeAll, describe, expect, it } from "vitest";
import { CANARY_CREDENTIAL, CLIENT_ID, makeKeys, type TestKeys } from "./helpers";

const ORIGIN = "http://127.0.0.1:1";
let keys: TestKeys;

beforeAll(() => {
  keys = makeKeys();
});

function setup(): { emu: Emulator; auth: IBAuth } {
  const emu = createEmulator({
    clients: [{ clientId: CLIENT_ID, keys: { main: keys.publicKeyPem }, credentials: [CANARY_CREDENTIAL] }],
  });
  const auth = new IBAuth({
    clientId: CLIENT_ID,
    clientKeyId: "main",
    credential: CANARY_CREDENTIAL,
    privateKey: keys.privateKeyPem,
    baseUrl: ORIGIN,
    ipLookupUrl: `${ORIGIN}/__emulator/ip`,
    fetch: emu.fetch,
    retry: { attempts: 1 },
    timeoutMs: 5_000,
  });
  return { emu, auth };
}

/** Collects log lines as `level msg`, and their fields. */
function recorder(): { logger: Logger; lines: string[]; fields: Record<string, unknown>[] } {
  const lines: string[] = [];
  const fields: Record<string, unknown>[] = [];
  const at = (level: string) => (f: Record<string, unknown>, msg?: string) => {
    lines.push(`${level} ${msg}`);
    fields.push(f);
  };
  return {
    lines,
    fields,
    logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") },
  };
}

async function until(check: () => boolean, ms = 25_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const tickleTimes = (emu: Emulator) =>
  emu.requests.filter((r) => r.path === "/v1/api/tickle").map((r) => r.at);

describe("keepAlive", () => {
  it("does not keep the process alive by itself (unref'd timer)", async () => {
    const script = `
      import { IBAuth } from "@ibauth/core";
      import { keepAlive } from "@ibauth/node";
      const auth = new IBAuth({ clientId: "c", clientKeyId: "main", credential: "u", privateKey: process.env.PEM, baseUrl: "http://127.0.0.1:1" });
      keepAlive(auth, { intervalMs: 60_000 });`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      cwd: import.meta.dirname,
      env: { PATH: process.env.PATH ?? "", PEM: keys.privateKeyPem },
      stdio: "inherit",
    });
    const started = Date.now();
    const code = await new Promise<number | null>((done) => {
      const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.on("close", (c) => {
        clearTimeout(kill);
        done(c);
      });
    });
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("heals a dropped brokerage session on the next tick and says so once", async () => {
    const { emu, auth } = setup();
    await auth.connect();
    const { logger, lines } = recorder();
    const ticker = keepAlive(auth, { intervalMs: 1_100, logger });
    emu.dropBrokerageSession();
    await until(() => lines.some((l) => l.includes("healed")));
    await until(() => tickleTimes(emu).length >= 2);
    await ticker.stop();
    expect(lines.filter((l) => l.includes("healed"))).toEqual(["info keepalive healed the session (reinit)"]);
    expect(auth.status().state).toBe("connected");
  });

  it("backs off after failures, logs the failure once, and returns to the interval after a success", async () => {
    const { emu, auth } = setup();
    await auth.connect();
    const { logger, lines } = recorder();
    emu.failNext({ path: "/v1/api/tickle", count: 2, kind: "reset" });
    // back-offs above IBKR's tickle pacing (1/s), which the core holds whatever the back-off says
    const ticker = keepAlive(auth, { intervalMs: 4_000, backoffMs: [1_200, 2_400], logger });
    await until(() => tickleTimes(emu).length >= 4);
    await ticker.stop();
    const [t1, t2, t3, t4] = tickleTimes(emu) as [number, number, number, number];
    // Lower bounds are exact (a timer never fires early); upper bounds leave room for a loaded machine.
    expect(t2 - t1).toBeLessThan(t3 - t2); // the back-off grows
    expect(t3 - t2).toBeGreaterThanOrEqual(2_390);
    expect(t3 - t2).toBeLessThan(3_900); // still a back-off, not the 4 s interval
    expect(t4 - t3).toBeGreaterThanOrEqual(3_990); // the interval again after a success
    expect(lines.filter((l) => l.startsWith("warn"))).toEqual(["warn keepalive tick failed; backing off"]);
    expect(lines.filter((l) => l.includes("recovered"))).toHaveLength(1);
  });

  it("waits out IBKR's 429 penalty instead of its own short back-off", async () => {
    const { emu, auth } = setup();
    await auth.connect();
    const { logger, lines, fields } = recorder();
    emu.failNext({ path: "/v1/api/tickle", kind: "status", status: 429, headers: { "Retry-After": "30" } });
    const ticker = keepAlive(auth, { intervalMs: 1_100, backoffMs: [100], logger });
    await until(() => lines.some((l) => l.startsWith("warn")));
    await ticker.stop();
    const warned = fields[lines.findIndex((l) => l.startsWith("warn"))];
    expect(warned).toMatchObject({ code: "ERR_RATE_LIMITED" });
    expect(warned?.retryInMs).toBeGreaterThan(25_000);
    expect(tickleTimes(emu)).toHaveLength(1); // nothing sent during the penalty
  });

  it("Retry-After: 99999999 is capped at 15 min: one retry scheduled, no busy loop", async () => {
    const { emu, auth } = setup();
    await auth.connect();
    const { logger, lines, fields } = recorder();
    emu.failNext({
      path: "/v1/api/tickle",
      kind: "status",
      status: 429,
      headers: { "Retry-After": "99999999" },
    });
    let ticks = 0;
    const realTick = auth.tick.bind(auth);
    auth.tick = () => {
      ticks++;
      return realTick();
    };
    const ticker = keepAlive(auth, { intervalMs: 1_100, backoffMs: [100], logger });
    await until(() => lines.some((l) => l.startsWith("warn")));
    await new Promise((r) => setTimeout(r, 1_000));
    await ticker.stop();
    const warned = fields[lines.findIndex((l) => l.startsWith("warn"))];
    expect(warned?.retryInMs).toBeLessThanOrEqual(15 * 60_000);
    expect(warned?.retryInMs).toBeGreaterThan(14 * 60_000);
    expect(ticks).toBe(1);
  });

  it("never overlaps ticks, even when one is slower than the interval", async () => {
    const { emu, auth } = setup();
    await auth.connect();
    const realTick = auth.tick.bind(auth);
    let running = 0;
    let most = 0;
    let calls = 0;
    auth.tick = async () => {
      calls++;
      most = Math.max(most, ++running);
      try {
        return await realTick();
      } finally {
        running--;
      }
    };
    emu.failNext({ path: "/v1/api/tickle", kind: "status", status: 503, delayMs: 1_500 });
    const ticker = keepAlive(auth, { intervalMs: 100, backoffMs: [100], logger: recorder().logger });
    await until(() => calls >= 3);
    await ticker.stop();
    expect(most).toBe(1);
  });

  it("stop({ logout: true }) waits for a tick in flight, then logs out", async () => {
    const { emu, auth } = setup();
    await auth.connect();
    emu.failNext({ path: "/v1/api/tickle", kind: "status", status: 503, delayMs: 800 });
    const ticker = keepAlive(auth, { intervalMs: 50 });
    await until(() => tickleTimes(emu).length > 0);
    await ticker.stop({ logout: true });
    expect(emu.counts()["POST /v1/api/logout"]).toBe(1);
    const logoutAt = emu.requests.find((r) => r.path === "/v1/api/logout")?.at ?? 0;
    // The slow tickle arrived first and answered 800 ms later; logout came after that answer.
    expect(logoutAt - (tickleTimes(emu)[0] ?? 0)).toBeGreaterThanOrEqual(790);
    expect(auth.status().state).toBe("closed");
  });
});
