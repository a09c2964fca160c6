import { IBAuth, isIbauthError, keepAliveCron, type TickReport } from "../../src/mod.ts";
import { createTicker } from "../../src/ticker.ts";
import * as assert from "./assert.ts";
import { captureLogger, emulator, fastClock, inProcessOptions, serve, tickles, until } from "./helpers.ts";

// SDK and emulator share a clock running 60x: a 50 ms timer period is 3 s of IBKR time, past the
// core's one-tickle-per-second sharing and IBKR's tickle pacing, well inside the ~6 min idle timeout.
const SPEED = 60;

/** An SDK on the in-process emulator, on the fast clock. */
async function connected(clock = fastClock(SPEED)) {
  const emu = await emulator({ now: clock.now });
  const auth = new IBAuth({
    ...(await inProcessOptions(emu)),
    now: clock.now,
    sleep: clock.sleep,
    timeoutMs: 2_000,
  });
  return { emu, auth };
}

Deno.test("keepAliveCron interval fallback: ticks the session at the emulator, stop() ends it", async () => {
  const { emu, auth } = await connected();
  await auth.connect();
  const before = tickles(emu);
  const reports: TickReport[] = [];
  const handle = keepAliveCron(auth, { mode: "interval", intervalMs: 50, onTick: (r) => reports.push(r) });
  assert.equal(handle.mode, "interval");
  await until(() => reports.filter((r) => r.ok === true).length >= 3, "three good ticks");
  await handle.stop();
  assert.ok(
    reports.every((r) => r.ok === true && r.outcome.action === "tickled"),
    JSON.stringify(reports.map((r) => r.ok)),
  );
  assert.ok(tickles(emu) - before >= 3, `only ${tickles(emu) - before} tickles reached the emulator`);

  const atStop = tickles(emu);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(tickles(emu), atStop, "ticks went on after stop()");
});

Deno.test("keepAliveCron survives an outage, backs off 1x 2x 4x (capped), and recovers", async () => {
  const clock = fastClock(SPEED);
  const emu = await emulator({ now: clock.now });
  let server = await serve(emu);
  const { auth } = await connectedVia(server.url, clock, emu);
  await auth.connect();

  const reports: TickReport[] = [];
  const { logger, lines } = captureLogger();
  const handle = keepAliveCron(auth, {
    mode: "interval",
    intervalMs: 40,
    maxBackoffMs: 160,
    logger,
    onTick: (r) => reports.push(r),
  });
  try {
    await until(() => reports.some((r) => r.ok === true), "a good tick before the outage");
    await server.close(); // IBKR unreachable, as during its nightly restart
    await until(() => failures(reports).length >= 4, "four failed ticks");
    server = await serve(emu, Number(new URL(server.url).port));
    await until(() => reports.at(-1)?.ok === true, "a good tick after the outage");
  } finally {
    await handle.stop();
    await server.close();
  }
  const failed = failures(reports);
  assert.deepEqual(
    failed.slice(0, 4).map((r) => r.retryInMs),
    [40, 80, 160, 160],
  );
  assert.ok(
    failed.every((r) => isIbauthError(r.error)),
    "a failure was not an IbauthError",
  );
  assert.ok(lines.some((l) => l.includes("keepalive tick failed; backing off")));
  assert.ok(lines.some((l) => l.includes("keepalive recovered")));
});

function failures(reports: TickReport[]) {
  return reports.filter((r): r is Extract<TickReport, { ok: false }> => r.ok === false);
}

/** An SDK on the emulator served over loopback HTTP, with Deno's own fetch. */
async function connectedVia(
  url: string,
  clock: ReturnType<typeof fastClock>,
  emu: Awaited<ReturnType<typeof emulator>>,
) {
  const { fetch: _inProcess, ...options } = await inProcessOptions(emu);
  const auth = new IBAuth({
    ...options,
    baseUrl: url,
    ipLookupUrl: `${url}/__emulator/ip`,
    now: clock.now,
    sleep: clock.sleep,
    timeoutMs: 2_000,
  });
  return { auth };
}

Deno.test("cron-mode backoff: firings during a backoff are skipped, and one tick runs at a time", async () => {
  const clock = fastClock(SPEED);
  const emu = await emulator({ now: clock.now });
  const server = await serve(emu);
  const { auth } = await connectedVia(server.url, clock, emu);
  await auth.connect();
  await server.close();

  let now = 1_000_000;
  const ticker = createTicker(auth, {
    logger: captureLogger().logger,
    baseMs: 60_000,
    maxMs: 600_000,
    now: () => now,
  });
  const first = await ticker.run();
  assert.equal(first.ok, false);
  assert.equal(first.ok === false && first.retryInMs, 60_000);
  now += 30_000;
  assert.deepEqual(await ticker.run(), { ok: "skipped", reason: "backoff" });
  now += 30_000; // the next minute's firing: due again
  const second = await ticker.run();
  assert.equal(second.ok === false && second.retryInMs, 120_000);
  now += 60_000;
  assert.deepEqual(await ticker.run(), { ok: "skipped", reason: "backoff" });

  now += 60_000;
  const [a, b] = await Promise.all([ticker.run(), ticker.run()]);
  assert.equal(a.ok, false);
  assert.deepEqual(b, { ok: "skipped", reason: "busy" });
  await ticker.stop();
  assert.deepEqual(await ticker.run(), { ok: "skipped", reason: "stopped" });
});

Deno.test("keepAliveCron uses Deno.cron when the runtime has it; stop() unregisters", async () => {
  const { auth } = await connected();
  const handle = keepAliveCron(auth, { name: "ibauth test cron" });
  assert.equal(handle.mode, "cron");
  await handle.stop();
  // The name is free again once stopped.
  const again = keepAliveCron(auth, { name: "ibauth test cron", schedule: "*/5 * * * *" });
  await again.stop();
});

Deno.test("keepAliveCron without Deno.cron: auto falls back to the timer, cron mode is ERR_CONFIG", async () => {
  const { emu, auth } = await connected();
  await auth.connect();
  const original = Object.getOwnPropertyDescriptor(Deno, "cron");
  // A runtime without the unstable API (no --unstable-cron): Deno.cron is simply absent.
  Object.defineProperty(Deno, "cron", { value: undefined, configurable: true });
  try {
    assert.throws(
      () => keepAliveCron(auth, { mode: "cron" }),
      (e) => isIbauthError(e) && e.code === "ERR_CONFIG" && /--unstable-cron/.test(e.message),
    );
    const before = tickles(emu);
    const handle = keepAliveCron(auth, { schedule: "* * * * *", intervalMs: 40 });
    assert.equal(handle.mode, "interval");
    await until(() => tickles(emu) > before, "a timer tick");
    await handle.stop();
  } finally {
    if (original) Object.defineProperty(Deno, "cron", original);
  }
});

Deno.test("keepAliveCron: a schedule Deno.cron refuses is ERR_CONFIG naming it", async () => {
  const { auth } = await connected();
  assert.throws(
    () => keepAliveCron(auth, { name: "ibauth bad schedule", schedule: "every minute please" }),
    (e) => isIbauthError(e) && e.code === "ERR_CONFIG" && e.field === "schedule",
  );
});

Deno.test("keepAliveCron: a throwing onTick callback does not stop the keepalive", async () => {
  const { auth } = await connected();
  await auth.connect();
  let calls = 0;
  const handle = keepAliveCron(auth, {
    mode: "interval",
    intervalMs: 50,
    onTick: () => {
      calls++;
      throw new Error("callback bug");
    },
  });
  await until(() => calls >= 2, "two ticks despite the throwing callback");
  await handle.stop();
});

Deno.test("keepAliveCron rides out emulator-injected faults (resets, HTML 503s, 500s) and recovers", async () => {
  const { emu, auth } = await connected();
  await auth.connect();
  const reports: TickReport[] = [];
  const handle = keepAliveCron(auth, {
    mode: "interval",
    intervalMs: 30,
    maxBackoffMs: 60,
    onTick: (r) => reports.push(r),
  });
  try {
    await until(() => reports.some((r) => r.ok === true), "a good tick before the faults");
    for (const fault of [
      { kind: "reset" as const },
      { kind: "html" as const, status: 503 },
      { kind: "status" as const, status: 500, body: { error: "failed to process request" } },
    ]) {
      const seen = reports.length;
      emu.failNext({ path: "*", count: 12, ...fault });
      await until(() => failures(reports.slice(seen)).length > 0, `a failed tick under ${fault.kind}`);
      await until(() => reports.at(-1)?.ok === true, `recovery after ${fault.kind}`);
    }
  } finally {
    await handle.stop();
  }
  assert.equal(emu.state().faults.length, 0, "some injected faults were never hit");
});
