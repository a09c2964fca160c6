import * as v from "valibot";
import { storedData } from "./stored-json";

/** One row of IBKR's pacing table: at most `requests` in any `perMs`, and/or `concurrent` in flight. */
export interface EndpointLimit {
  requests?: number;
  perMs?: number;
  concurrent?: number;
}

/** Rows keyed by path from `/v1/api` on: an exact path, or a prefix ending in "*". `null` removes a default row. */
export type EndpointLimits = Record<string, EndpointLimit | null>;

/**
 * IBKR's per-username pacing table (Web API docs, "Pacing limitations"; protocol notes §0.6), on top of
 * 50 requests a second. Extend or override it with the `endpointLimits` option.
 */
export const IBKR_ENDPOINT_LIMITS: Readonly<Record<string, EndpointLimit>> = {
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

/** The defaults with the user's rows laid over them. */
export function endpointTable(extra: EndpointLimits = {}): Record<string, EndpointLimit> {
  const table: Record<string, EndpointLimit> = { ...IBKR_ENDPOINT_LIMITS };
  for (const [key, limit] of Object.entries(extra)) {
    if (limit === null) delete table[key];
    else table[key] = limit;
  }
  return table;
}

/**
 * The row that governs a URL path: the exact key, else the longest matching "prefix*" key. The path is
 * taken from `/v1/api/` on, so a relay's path prefix (baseUrl https://relay/ibkr) does not hide it.
 */
export function limitKeyFor(table: Record<string, EndpointLimit>, urlPath: string): string | undefined {
  const at = urlPath.indexOf("/v1/api/");
  if (at === -1) return undefined;
  const path = urlPath.slice(at);
  if (table[path]) return path;
  let best: string | undefined;
  for (const key of Object.keys(table)) {
    if (key.endsWith("*") && path.startsWith(key.slice(0, -1)) && (!best || key.length > best.length))
      best = key;
  }
  return best;
}

/**
 * What one process must tell the next about IBKR's pacing for one username (it outlives IBAuth, the
 * session record and logout): the penalty, and the last send time of each row with one request per
 * ≥ 1 s. It holds no secret.
 */
export interface PacingRecord {
  v: 1;
  /** Nothing is sent to IBKR before this time (ms since epoch). */
  penaltyUntil?: number;
  /** 429 strikes so far (one per penalty window); a success resets it. */
  strikes?: number;
  /** Last send time per table row, for rows of one request per ≥ 1 s. */
  last?: Record<string, number>;
}

const PacingSchema = v.object({
  v: v.literal(1),
  penaltyUntil: v.optional(v.number()),
  strikes: v.optional(v.number()),
  last: v.optional(v.record(v.string(), v.number())),
});

/** A stored pacing record, or undefined for anything unreadable (which only means "nothing to wait for"). */
export function parsePacingRecord(value: unknown): PacingRecord | undefined {
  const stored = storedData(value);
  if (!stored) return undefined;
  const result = v.safeParse(PacingSchema, stored.data);
  return result.success ? (result.output as PacingRecord) : undefined;
}
