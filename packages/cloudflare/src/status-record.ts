import type { AuthStatus, BrokerageStatus } from "@ibauth/core";
import type { KvNamespaceLike } from "./kv";

/** An error as /health shows it: what failed and what to do, never a secret. */
export interface ErrorSummary {
  code: string;
  step: string;
  status?: number;
  message: string;
  hint?: string;
  at: number;
}

export interface IpMismatch {
  at: number;
  /** Which path saw IBKR answer 401 right after a fresh bearer: the cron tick or the proxy. */
  seenBy: "tick" | "proxy";
  /** The IP(s) the bearer claims. The Worker's real egress IP is unknown to it. */
  claimedIp?: string;
  hint: string;
}

/**
 * What the keepalive last knew, shared across isolates through KV so that /health answers the same
 * everywhere. It holds no secrets (it is served by /health) and is written only when something an
 * operator cares about changes, plus a heartbeat: never once per tick.
 */
export interface StatusRecord {
  v: 1;
  state: AuthStatus["state"];
  /** Set by POST /session/logout: the cron leaves the session logged out until POST /session/login. */
  paused: boolean;
  brokerage?: BrokerageStatus;
  lastTickleAt?: number;
  ssoExpiresMs?: number;
  lastOkAt?: number;
  lastError?: ErrorSummary;
  ipMismatch?: IpMismatch;
  writtenAt: number;
}

export function parseStatusRecord(value: string | null): StatusRecord | undefined {
  if (value === null) return undefined;
  try {
    const data = JSON.parse(value) as Partial<StatusRecord>;
    return data.v === 1 && typeof data.state === "string" ? (data as StatusRecord) : undefined;
  } catch {
    return undefined;
  }
}

/** The fields whose change is worth a KV write. */
function significant(record: StatusRecord | undefined): string {
  if (!record) return "";
  const b = record.brokerage;
  return JSON.stringify([
    record.state,
    record.paused,
    b && [b.authenticated, b.competing, b.connected],
    record.lastError && [record.lastError.code, record.lastError.step, record.lastError.status],
    record.ipMismatch && [record.ipMismatch.seenBy, record.ipMismatch.claimedIp],
  ]);
}

export interface StatusBook {
  /** The stored record; one read by this isolate within `maxAgeMs` is reused (default: always read). */
  read(maxAgeMs?: number): Promise<StatusRecord | undefined>;
  /** Applies `change` to the stored record; writes only on a significant change or when the heartbeat is due. */
  update(
    change: (current: StatusRecord | undefined) => StatusRecord,
  ): Promise<{ written: boolean; record: StatusRecord }>;
}

export function statusBook(
  namespace: KvNamespaceLike,
  key: string,
  heartbeatMs: number,
  now: () => number,
): StatusBook {
  let cached: StatusRecord | undefined;
  let loadedAt: number | undefined;
  const read = async (maxAgeMs = 0) => {
    if (loadedAt !== undefined && now() - loadedAt < maxAgeMs) return cached;
    cached = parseStatusRecord(await namespace.get(key, "text"));
    loadedAt = now();
    return cached;
  };
  return {
    read,
    async update(change) {
      const current = loadedAt !== undefined ? cached : await read();
      const next = change(current);
      // The heartbeat keeps /health's "last seen alive" within heartbeatMs in every isolate.
      const heartbeatDue =
        heartbeatMs > 0 && current !== undefined && next.writtenAt - current.writtenAt >= heartbeatMs;
      if (current && significant(current) === significant(next) && !heartbeatDue) {
        return { written: false, record: next };
      }
      await namespace.put(key, JSON.stringify(next));
      cached = next;
      loadedAt = now();
      return { written: true, record: next };
    },
  };
}
