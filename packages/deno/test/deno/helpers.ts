// The emulator's "." export has a "node" condition (its Node server entry), which Deno matches; the
// import map points at the runtime-agnostic build instead, and this names its types.
// @ts-types="../../../emulator/dist/index.d.ts"
import { type ClientKeyPair, createEmulator, type Emulator, generateClientKeys } from "@ibauth/emulator";
import { consoleLogger, type IBAuthOptions, type Logger } from "../../src/mod.ts";

/** Canary secrets: distinctive values that must never show up in logs, errors, status or KV keys. */
export const CANARY = {
  clientId: "canary-client-c9f3",
  credential: "canaryuser7q3zx",
};

let keys: Promise<ClientKeyPair> | undefined;
/** One 2048-bit key pair per test file (generation costs ~100 ms of a shared CPU). */
export function clientKeys(): Promise<ClientKeyPair> {
  keys ??= generateClientKeys({ bits: 2048 });
  return keys;
}

/**
 * A clock running `speed` times faster than the wall clock, shared by the SDK and the emulator, so
 * second-scale pacing and minute-scale idle timers play out in milliseconds of test time.
 */
export function fastClock(speed: number): { now: () => number; sleep: (ms: number) => Promise<void> } {
  const start = Date.now();
  return {
    now: () => start + (Date.now() - start) * speed,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms / speed)),
  };
}

export async function emulator(options: { now?: () => number } = {}): Promise<Emulator> {
  const { publicKeyPem } = await clientKeys();
  return createEmulator({
    clients: [{ clientId: CANARY.clientId, keys: { main: publicKeyPem }, credentials: [CANARY.credential] }],
    ...(options.now ? { now: options.now } : {}),
  });
}

/** IBAuth options for the emulator used in-process as the SDK's fetch (no sockets). */
export async function inProcessOptions(emu: Emulator): Promise<IBAuthOptions> {
  return {
    clientId: CANARY.clientId,
    clientKeyId: "main",
    credential: CANARY.credential,
    privateKey: (await clientKeys()).privateKeyPem,
    baseUrl: "http://127.0.0.1:1",
    ipLookupUrl: "http://127.0.0.1:1/__emulator/ip",
    fetch: emu.fetch,
  };
}

/** The IBKR_* variables for the in-process emulator: what authFromEnv reads. */
export async function inProcessEnv(): Promise<Record<string, string>> {
  return {
    IBKR_CLIENT_ID: CANARY.clientId,
    IBKR_CLIENT_KEY_ID: "main",
    IBKR_CREDENTIAL: CANARY.credential,
    IBKR_PRIVATE_KEY: (await clientKeys()).privateKeyPem,
    IBKR_BASE_URL: "http://127.0.0.1:1",
    IBKR_IP_LOOKUP_URL: "http://127.0.0.1:1/__emulator/ip",
  };
}

export interface Served {
  url: string;
  port: number;
  /** Stops listening and drops open connections: callers see "connection refused". */
  close(): Promise<void>;
}

/** The emulator over real loopback HTTP (Deno.serve on 127.0.0.1), optionally on a given port. */
export function serve(emu: Emulator, port = 0): Promise<Served> {
  return new Promise((resolve) => {
    const server = Deno.serve(
      {
        hostname: "127.0.0.1",
        port,
        onListen: (addr) => {
          resolve({ url: `http://127.0.0.1:${addr.port}`, port: addr.port, close: () => server.shutdown() });
        },
      },
      (request) => emu.fetch(request),
    );
  });
}

/** A debug-level logger that keeps every line, for asserting on what was (not) logged. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: consoleLogger({ level: "debug", json: true, write: (line) => lines.push(line) }), lines };
}

/** The body of a PEM (no armour lines), and a slice of it: neither may ever leak. */
export function pemFragments(pem: string): string[] {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return [body.slice(40, 80), body.slice(-80, -40)];
}

export function countLogins(emu: Emulator): { token: number; sso: number; init: number } {
  const c = emu.counts();
  return {
    token: c["POST /oauth2/api/v1/token"] ?? 0,
    sso: c["POST /gw/api/v1/sso-sessions"] ?? 0,
    init: (c["POST /v1/api/iserver/auth/ssodh/init"] ?? 0) + (c["GET /v1/api/iserver/auth/ssodh/init"] ?? 0),
  };
}

export function tickles(emu: Emulator): number {
  const c = emu.counts();
  return (c["GET /v1/api/tickle"] ?? 0) + (c["POST /v1/api/tickle"] ?? 0);
}

/** Resolves when `predicate` holds, polling every 10 ms; rejects after `ms` with `what` in the message. */
export async function until(predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A fresh temp folder, under IBAUTH_TEST_TMP when the runner gives one (it grants --allow-write there only). */
export function tempDir(): Promise<string> {
  const dir = Deno.env.get("IBAUTH_TEST_TMP");
  return Deno.makeTempDir(dir ? { dir } : {});
}
