import { IBAuth, type IBAuthOptions, type IbauthError, isIbauthError, type Logger } from "@ibauth/core";
import { createEmulator, type EmulatorOptions, generateClientKeys } from "@ibauth/emulator";

export const CLIENT_ID = "canary-client-7f3a";
export const CREDENTIAL = "canaryuser9b1c";
export const ORIGIN = "http://127.0.0.1:1";

let keysOnce: ReturnType<typeof generateClientKeys> | undefined;
/** One 2048-bit pair per test file: generation is the slow part. */
export const testKeys = () => (keysOnce ??= generateClientKeys({ bits: 2048 }));

/** The IbauthError a synchronous call throws (anything else, or no throw, fails the test). */
export function thrownBy(fn: () => unknown): IbauthError {
  try {
    fn();
  } catch (e) {
    if (isIbauthError(e)) return e;
    throw e;
  }
  throw new Error("expected an IbauthError, nothing was thrown");
}

/** The IbauthError a promise rejects with (anything else, or no rejection, fails the test). */
export async function rejection(p: Promise<unknown>): Promise<IbauthError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (isIbauthError(e)) return e;
  throw new Error(`expected an IbauthError, got ${e === undefined ? "no rejection" : String(e)}`);
}

/** A logger that keeps every line, to search for secrets. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (fields: Record<string, unknown>, msg?: string) => {
    lines.push(`${level} ${msg ?? ""} ${JSON.stringify(fields)}`);
  };
  return { lines, debug: rec("debug"), info: rec("info"), warn: rec("warn"), error: rec("error") };
}

/**
 * Virtual time that behaves like real time: sleepers wake in order, and the clock moves only after all
 * work at the current instant has run (a macrotask later), so concurrent waits overlap instead of adding up.
 */
export function virtualClock(start: number) {
  const clock = { t: start };
  const sleepers: { at: number; wake: () => void }[] = [];
  let pumping = false;
  const pump = () => {
    pumping = false;
    sleepers.sort((a, b) => a.at - b.at);
    const next = sleepers[0];
    if (!next) return;
    clock.t = Math.max(clock.t, next.at);
    while (sleepers[0] && sleepers[0].at <= clock.t) sleepers.shift()?.wake();
    schedule();
  };
  const schedule = () => {
    if (!pumping && sleepers.length) {
      pumping = true;
      setTimeout(pump, 0);
    }
  };
  const sleep = (ms: number) =>
    new Promise<void>((wake) => {
      sleepers.push({ at: clock.t + ms, wake });
      schedule();
    });
  return { clock, now: () => clock.t, sleep };
}

/** A fresh emulator and an IBAuth talking to it through its fetch handler, on one shared virtual clock. */
export async function testBed(
  o: { emulator?: Partial<EmulatorOptions>; auth?: Partial<IBAuthOptions> } = {},
) {
  const keys = await testKeys();
  const { clock, now, sleep } = virtualClock(Date.UTC(2026, 10, 2, 14, 0, 0));
  const emu = createEmulator({
    clients: [{ clientId: CLIENT_ID, keys: { main: keys.publicKeyPem }, credentials: [CREDENTIAL] }],
    now,
    ...o.emulator,
  });
  const logger = recordingLogger();
  const options: IBAuthOptions = {
    clientId: CLIENT_ID,
    clientKeyId: "main",
    credential: CREDENTIAL,
    privateKey: keys.privateKeyPem,
    baseUrl: ORIGIN,
    ipLookupUrl: `${ORIGIN}/__emulator/ip`,
    fetch: emu.fetch,
    now,
    logger,
    sleep,
    ...o.auth,
  };
  return { emu, keys, clock, logger, options, auth: new IBAuth(options) };
}
