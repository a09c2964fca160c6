import type { RateLimitOptions } from "./types.js";

/** IBKR's pacing (protocol §0.6, WEBAPI): 50 req/s per username, /tickle 1/s, /sso/validate 1/min. */
export const DEFAULT_ENDPOINT_LIMITS: Record<string, { requests: number; perMs: number }> = {
  "/v1/api/tickle": { requests: 1, perMs: 1000 },
  "/v1/api/sso/validate": { requests: 1, perMs: 60_000 },
};

interface Bucket {
  tokens: number;
  at: number;
}

/** Token buckets per username (and per username + endpoint), and a penalty box per caller IP. */
export class Pacer {
  readonly userPerSecond: number;
  readonly endpoints: Record<string, { requests: number; perMs: number }>;
  readonly penaltyMs: number;
  #buckets = new Map<string, Bucket>();
  #penalty = new Map<string, number>(); // ip -> release time (ms)

  constructor(options: RateLimitOptions = {}) {
    this.userPerSecond = options.userPerSecond ?? 50;
    this.endpoints = options.endpoints ?? DEFAULT_ENDPOINT_LIMITS;
    this.penaltyMs = options.penaltyMs ?? 600_000;
  }

  clear(): void {
    this.#buckets.clear();
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
   * Takes one request from the user's budget (and the endpoint's, if limited). Over a limit, the caller
   * IP goes into the penalty box and the ms to wait is returned; otherwise undefined.
   */
  take(username: string, path: string, ip: string, now: number): number | undefined {
    const limits: [string, number, number][] = [[`u:${username}`, this.userPerSecond, 1000]];
    const ep = this.endpoints[path];
    if (ep) limits.push([`e:${username}:${path}`, ep.requests, ep.perMs]);
    // check every bucket before taking from any, so a refused request costs nothing
    const buckets = limits.map(([key, capacity, perMs]) => {
      const b = this.#buckets.get(key) ?? { tokens: capacity, at: now };
      b.tokens = Math.min(capacity, b.tokens + ((now - b.at) * capacity) / perMs);
      b.at = now;
      this.#buckets.set(key, b);
      return b;
    });
    if (buckets.some((b) => b.tokens < 1)) {
      this.#penalty.set(ip, now + this.penaltyMs);
      return this.penaltyMs;
    }
    for (const b of buckets) b.tokens -= 1;
    return undefined;
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
