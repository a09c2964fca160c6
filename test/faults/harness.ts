// Shared by the fault matrix and the soak: a virtual clock shared by the emulator and the SDK, a fetch
// that records every request the SDK sends (time, endpoint, status), and the emulator + SDK wiring.

import type { IBAuthOptions } from "@ibauth/core";
import { IBAuth } from "@ibauth/core";
import { type EmulatorOptions, type generateClientKeys, startEmulator } from "@ibauth/emulator";

const CLIENT_ID = "proof-client";
const KEY_ID = "main";
const EGRESS_IP = "203.0.113.10";
/** Monday 2 Nov 2026, 09:00 in New York: a trading day, far from the daily reset. */
export const START = Date.UTC(2026, 10, 2, 14);

export interface VirtualClock {
  t: number;
  now: () => number;
  /** The SDK's sleep: moves virtual time forward instead of waiting. Concurrent sleepers do not stack. */
  sleep: (ms: number) => Promise<void>;
  advance: (ms: number) => void;
}

export function virtualClock(start = START): VirtualClock {
  const clock: VirtualClock = {
    t: start,
    now: () => clock.t,
    sleep: async (ms) => {
      // Read the target before yielding, so callers that sleep at the same instant wake together.
      const target = clock.t + Math.max(0, ms);
      await new Promise((r) => setImmediate(r));
      clock.t = Math.max(clock.t, target);
    },
    advance: (ms) => {
      clock.t += ms;
    },
  };
  return clock;
}

export interface Hit {
  /** Virtual time the request was sent. */
  at: number;
  method: string;
  path: string;
  /** Unset when no HTTP answer came back (timeout, reset). */
  status?: number;
  retryAfter?: string | null;
}

/**
 * Wraps the real fetch to the emulator: it only observes, the SDK still talks to the emulator over HTTP.
 * `settled()` waits until the SDK has nothing in flight (e.g. the token request a failed IP lookup left
 * running, which may still be signing its assertion), so that moving the virtual clock does not make a
 * request look as if it spent minutes on the wire.
 */
export function recordingFetch(clock: VirtualClock, base: typeof fetch = globalThis.fetch) {
  const hits: Hit[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const settled = async () => {
    for (;;) {
      const seen = hits.length;
      while (inFlight.size) await Promise.allSettled([...inFlight]);
      // real time for work that has not reached fetch yet (signing, on a machine shared with others)
      await new Promise((r) => setTimeout(r, 50));
      if (hits.length === seen && !inFlight.size) return;
    }
  };
  const record: typeof fetch = (input, init) => {
    const p = send(input, init);
    const tracked = p.catch(() => {}).finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    return p;
  };
  const send: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const hit: Hit = { at: clock.now(), method, path: url.pathname };
    hits.push(hit);
    const res = await base(input, init);
    hit.status = res.status;
    hit.retryAfter = res.headers.get("retry-after");
    return res;
  };
  return { fetch: record, hits, settled };
}

/** Requests per endpoint, as `METHOD /path` (same keys as `emu.counts()`). */
export function countByEndpoint(hits: Hit[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const h of hits) {
    const key = `${h.method} ${h.path}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export type ClientKeys = Awaited<ReturnType<typeof generateClientKeys>>;

export interface RigOptions {
  keys: ClientKeys;
  clock: VirtualClock;
  credentials: string[];
  emulator?: Partial<EmulatorOptions>;
}

/** One emulator on 127.0.0.1 whose clock is the virtual clock. */
export async function startRig({ keys, clock, credentials, emulator }: RigOptions) {
  const srv = await startEmulator({
    port: 0,
    host: "127.0.0.1",
    clients: [{ clientId: CLIENT_ID, keys: { [KEY_ID]: keys.publicKeyPem }, credentials }],
    egressIp: EGRESS_IP,
    now: clock.now,
    ...emulator,
  });
  return srv;
}

export interface SdkOptions {
  url: string;
  keys: ClientKeys;
  clock: VirtualClock;
  credential: string;
  fetch: typeof fetch;
  overrides?: Partial<IBAuthOptions>;
}

export function makeAuth({ url, keys, clock, credential, fetch, overrides }: SdkOptions): IBAuth {
  return new IBAuth({
    clientId: CLIENT_ID,
    clientKeyId: KEY_ID,
    credential,
    privateKey: keys.privateKeyPem,
    baseUrl: url,
    ipLookupUrl: `${url}/__emulator/ip`,
    fetch,
    now: clock.now,
    sleep: clock.sleep,
    ...overrides,
  });
}
