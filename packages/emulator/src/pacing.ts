import type { EndpointLimit, RateLimitOptions } from "./types.js";

/**
 * IBKR's pacing table (protocol §0.6, "Pacing limitations" of the Web API docs): per username, on top
 * of 50 requests a second over /v1/api. A key is an exact path, or a prefix ending in "*".
 */
export const DEFAULT_ENDPOINT_LIMITS: Record<string, EndpointLimit> = {
  "/v1/api/tickle": { requests: 1, perMs: 1000 },
  "/v1/api/sso/validate": { requests: 1, perMs: 60_000 },
  "/v1/api/iserver/marketdata/snapshot": { requests: 10, perMs: 1000 },
  "/v1/api/iserver/marketdata/history": { concurrent: 5 },
  "/v1/api/iserver/account/orders": { requests: 1, perMs: 5000 },
  "/v1/api/iserver/account/pnl/partitioned": { requests: 1, perMs: 5000 },
  "/v1/api/portfolio/accounts": { requests: 1, perMs: 5000 },
  "/v1/api/portfolio/subaccounts": { requests: 1, perMs: 5000 },
  "/v1/api/iserver/account/trades": { requests: 1, perMs: 5000 },
  "/v1/api/iserver/scanner/run": { requests: 1, perMs: 1000 },
  "/v1/api/iserver/scanner/params": { requests: 1, perMs: 900_000 },
  "/v1/api/pa/performance": { requests: 1, perMs: 900_000 },
  "/v1/api/pa/summary": { requests: 1, perMs: 900_000 },
  "/v1/api/pa/transactions": { requests: 1, perMs: 900_000 },
  // IBKR lists each /fyi/ path at 1/s; one window for all of them is the strict reading
  "/v1/api/fyi/*": { requests: 1, perMs: 1000 },
};

/** The table entry that governs a path: the exact key, else the longest matching "prefix*" key. */
export function limitKeyFor(table: Record<string, EndpointLimit>, path: string): string | undefined {
  if (table[path]) return path;
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (key.endsWith("*") && path.startsWith(key.slice(0, -1)) && (!best || key.length > best.length))
      best = key;
  }
  return best;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * IBKR's limits as the strictest reading of its docs: "50 requests per second" means at most 50
 * arrivals in ANY 1,000 ms (a rolling window, no burst on top); the per-endpoint table likewise, plus
 * a concurrency cap on history. A refused request puts the caller IP in the penalty box. The older,
 * kinder token bucket (a full bucket plus its refill lets ~2× the rate through in one second) is kept
 * behind `model: "token-bucket"` for comparison only.
 */
export class Pacer {
  readonly userPerSecond: number;
  readonly endpoints: Record<string, EndpointLimit>;
  readonly penaltyMs: number;
  readonly model: "rolling-window" | "token-bucket";
  /** Arrival times per window key, ascending, pruned to the window. */
  #arrivals = new Map<string, number[]>();
  #buckets = new Map<string, Bucket>();
  #inFlight = new Map<string, number>();
  #penalty = new Map<string, number>(); // ip -> release time (ms)

  constructor(options: RateLimitOptions = {}) {
    this.userPerSecond = options.userPerSecond ?? 50;
    this.endpoints = options.endpoints ?? DEFAULT_ENDPOINT_LIMITS;
    this.penaltyMs = options.penaltyMs ?? 600_000;
    this.model = options.model ?? "rolling-window";
  }

  clear(): void {
    this.#arrivals.clear();
    this.#buckets.clear();
    this.#inFlight.clear();
    this.#penalty.clear();
  }

  /** ms left in the penalty box for this IP, or 0. */
  penalized(ip: string, now: number): number {
    const until = this.#penalty.get(ip);
    if (until === undefined) return 0;
    if (until <= now) {
      this.#penalty.delete(ip);
      return 0;
    }
    return until - now;
  }

  /**
   * Admits one request against the user's budget and its endpoint's limit. Over a limit, the caller IP
   * goes into the penalty box and `{ wait }` is returned; otherwise `{ release }`, to call when the
   * answer is ready (it ends the request's share of a concurrency limit).
   */
  take(username: string, path: string, ip: string, now: number): { wait: number } | { release: () => void } {
    const windows: [string, number, number][] = [[`u:${username}`, this.userPerSecond, 1000]];
    const key = limitKeyFor(this.endpoints, path);
    const limit = key === undefined ? undefined : this.endpoints[key];
    const slotKey = `e:${username}:${key}`;
    if (limit?.requests !== undefined && limit.perMs !== undefined)
      windows.push([slotKey, limit.requests, limit.perMs]);
    const concurrentFull =
      limit?.concurrent !== undefined && (this.#inFlight.get(slotKey) ?? 0) >= limit.concurrent;
    // check every limit before counting against any, so a refused request costs nothing
    const admitted = windows.map(([k, n, perMs]) => this.#check(k, n, perMs, now));
    if (concurrentFull || admitted.some((ok) => !ok)) {
      this.#penalty.set(ip, now + this.penaltyMs);
      return { wait: this.penaltyMs };
    }
    for (const [k] of windows) this.#count(k, now);
    if (limit?.concurrent === undefined) return { release: () => {} };
    this.#inFlight.set(slotKey, (this.#inFlight.get(slotKey) ?? 0) + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight.set(slotKey, (this.#inFlight.get(slotKey) ?? 1) - 1);
      },
    };
  }

  #check(key: string, capacity: number, perMs: number, now: number): boolean {
    if (this.model === "token-bucket") {
      const b = this.#buckets.get(key) ?? { tokens: capacity, at: now };
      b.tokens = Math.min(capacity, b.tokens + ((now - b.at) * capacity) / perMs);
      b.at = now;
      this.#buckets.set(key, b);
      return b.tokens >= 1;
    }
    const times = this.#arrivals.get(key) ?? [];
    let drop = 0;
    while (drop < times.length && (times[drop] as number) <= now - perMs) drop++;
    if (drop) times.splice(0, drop);
    this.#arrivals.set(key, times);
    return times.length < capacity;
  }

  #count(key: string, now: number): void {
    if (this.model === "token-bucket") (this.#buckets.get(key) as Bucket).tokens -= 1;
    else (this.#arrivals.get(key) as number[]).push(now);
  }

  /** Snapshot for the state endpoint: penalized IPs and ms left. */
  snapshot(now: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const ip of this.#penalty.keys()) {
      const left = this.penalized(ip, now);
      if (left) out[ip] = left;
    }
    return out;
  }
}
