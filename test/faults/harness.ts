// Shared by the fault matrix and the soak: a virtual clock shared by the emulator and the SDK, a fetch
// that records every request the SDK sends (time, endpoint, status, OAuth 1.0a nonce), and the emulator +
// SDK wiring for both logins: OAuth 2.0 (private_key_jwt) and OAuth 1.0a (live session token).

import type { IBAuthOAuth1Options } from "@ibauth/core";
import { IBAuth } from "@ibauth/core";
import {
  type EmulatorOptions,
  type generateClientKeys,
  type Oauth1Credentials,
  startEmulator,
} from "@ibauth/emulator";

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
  /** OAuth 1.0a: the request's oauth_nonce (the emulator refuses one seen before). */
  nonce?: string;
  /** Sent by the test itself (a duplicate delivery), not by the SDK. */
  duplicate?: true;
}

/** The two ways to log in: every cell and the soak run in both where the fault applies. */
export type Login = "oauth2" | "oauth1";

const nonceOf = (authorization: string | null | undefined) =>
  /oauth_nonce="([^"]*)"/.exec(authorization ?? "")?.[1];

/**
 * Wraps the real fetch to the emulator: it only observes, the SDK still talks to the emulator over HTTP.
 * `settled()` waits until the SDK has nothing in flight (e.g. the token request a failed IP lookup left
 * running, which may still be signing its assertion), so that moving the virtual clock does not make a
 * request look as if it spent minutes on the wire.
 */
export function recordingFetch(clock: VirtualClock, base: typeof fetch = globalThis.fetch) {
  const hits: Hit[] = [];
  /** Paths whose next request is delivered twice (as a retrying proxy would): a copy first, then the SDK's. */
  const duplicates: string[] = [];
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
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    const nonce = nonceOf(headers.get("authorization"));
    const copy = duplicates.indexOf(url.pathname);
    if (copy !== -1) {
      duplicates.splice(copy, 1);
      const dup: Hit = { at: clock.now(), method, path: url.pathname, duplicate: true };
      hits.push(dup);
      // the copy's answer never reaches the SDK, as with a proxy that retried a request it thought lost
      const first = await base(input instanceof Request ? input.clone() : input, init);
      dup.status = first.status;
      await first.arrayBuffer();
    }
    const hit: Hit = { at: clock.now(), method, path: url.pathname, ...(nonce ? { nonce } : {}) };
    hits.push(hit);
    const res = await base(input, init);
    hit.status = res.status;
    hit.retryAfter = res.headers.get("retry-after");
    return res;
  };
  const duplicateNext = (path: string) => duplicates.push(path);
  return { fetch: record, hits, settled, duplicateNext };
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
  /** An OAuth 1.0a consumer registered beside the OAuth 2.0 client (its own username). */
  oauth1?: Oauth1Credentials;
  emulator?: Partial<EmulatorOptions>;
}

/** One emulator on 127.0.0.1 whose clock is the virtual clock. */
export async function startRig({ keys, clock, credentials, oauth1, emulator }: RigOptions) {
  const srv = await startEmulator({
    port: 0,
    host: "127.0.0.1",
    clients: [{ clientId: CLIENT_ID, keys: { [KEY_ID]: keys.publicKeyPem }, credentials }],
    ...(oauth1 ? { oauth1Consumers: [oauth1.consumer] } : {}),
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
  /** Options both logins take (timeouts, retry, store, logger…). */
  overrides?: Partial<Omit<IBAuthOAuth1Options, "oauth1">>;
  /** Log in with OAuth 1.0a with these credentials instead of OAuth 2.0. */
  oauth1?: Oauth1Credentials["client"];
}

export function makeAuth({ url, keys, clock, credential, fetch, overrides, oauth1 }: SdkOptions): IBAuth {
  if (oauth1)
    return new IBAuth({ oauth1, baseUrl: url, fetch, now: clock.now, sleep: clock.sleep, ...overrides });
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
