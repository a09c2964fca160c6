import { type AuthStatus, isIbauthError, type SessionRecord } from "@ibauth/core";
import type { ErrorSummary, IpMismatch, StatusBook, StatusRecord } from "./status-record";

export function summarizeError(error: unknown, at: number): ErrorSummary {
  if (isIbauthError(error)) {
    return {
      code: error.code,
      step: error.step,
      ...(error.status !== undefined && { status: error.status }),
      message: error.message,
      ...(error.hint !== undefined && { hint: error.hint }),
      at,
    };
  }
  // Only our own code throws plain errors here; their messages carry no secrets.
  return {
    code: "ERR_INTERNAL",
    step: "worker",
    message: error instanceof Error ? error.message : String(error),
    at,
  };
}

/**
 * IBKR checks the bearer's `ip` claim on later /v1/api calls, not when issuing it (protocol §0.2), so
 * a 401 on a bearer that is only moments old is the signature of an egress IP the claim does not cover.
 */
export function ipMismatchSuspected(
  status: number | undefined,
  record: SessionRecord | undefined,
  now: number,
  freshMs: number,
): boolean {
  // OAuth 1.0a's live session token claims no IP (its `ip` is empty): a 401 on it is no IP mismatch.
  const bearer = record?.bearer;
  return status === 401 && !!bearer?.ip && now - bearer.createdAt <= freshMs;
}

export function ipMismatchNote(
  seenBy: IpMismatch["seenBy"],
  record: SessionRecord | undefined,
  at: number,
): IpMismatch {
  const ips = record?.bearer
    ? [record.bearer.ip, ...(record.bearer.alternativeIps ?? [])].filter(Boolean).join(", ")
    : undefined;
  return {
    at,
    seenBy,
    ...(ips && { claimedIp: ips }),
    hint:
      "IBKR answered 401 right after a fresh bearer: the `ip` claim probably does not cover this Worker's egress IP. " +
      "Workers egress IPs are not fixed: list them in IBKR_IP / IBKR_ALTERNATIVE_IPS, route IBKR traffic through a " +
      "fixed-IP relay (createWorker({ fetch })), or use Cloudflare dedicated egress IPs (Enterprise).",
  };
}

export interface Outcome {
  /** Where the outcome came from; a mismatch is cleared only by a success seen the same way. */
  source: IpMismatch["seenBy"];
  status: AuthStatus;
  error?: unknown;
  ipMismatch?: IpMismatch;
  paused?: boolean;
  now: number;
}

/** Drops undefined fields so the stored JSON stays minimal and comparable. */
function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Folds one operation's result into the shared status record; KV is written only on a meaningful change. */
export async function recordOutcome(book: StatusBook, outcome: Outcome): Promise<StatusRecord> {
  const { status, now, error } = outcome;
  const { record } = await book.update((current) => {
    let ipMismatch = current?.ipMismatch;
    if (outcome.ipMismatch) ipMismatch = outcome.ipMismatch;
    else if (!error && ipMismatch?.seenBy === outcome.source) ipMismatch = undefined;
    return compact<StatusRecord>({
      v: 1,
      state: status.state,
      paused: outcome.paused ?? current?.paused ?? false,
      brokerage: status.brokerage,
      lastTickleAt: Math.max(status.lastTickleAt ?? 0, current?.lastTickleAt ?? 0) || undefined,
      ssoExpiresMs: status.ssoExpiresMs,
      lastOkAt: error ? current?.lastOkAt : now,
      // The last error stays visible after recovery; /health compares its time with lastOkAt.
      lastError: error ? summarizeError(error, now) : current?.lastError,
      ipMismatch,
      writtenAt: now,
    });
  });
  return record;
}

/** Records (or clears, with `undefined`) an IP mismatch seen outside a tick, leaving the rest as it is. */
export async function setIpMismatch(
  book: StatusBook,
  note: IpMismatch | undefined,
  now: number,
): Promise<void> {
  await book.update((current) =>
    compact<StatusRecord>({
      ...(current ?? { v: 1, state: "degraded", paused: false }),
      ipMismatch: note,
      writtenAt: now,
    }),
  );
}
