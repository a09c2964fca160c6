import { isIbauthError } from "./errors";
import * as flow from "./flow";
import type { Logger } from "./log";
import type { Mechanism } from "./mechanism";
import {
  classifyRecord,
  RECORD_PROBLEMS,
  type RecordProblem,
  type RecordReading,
  type SessionRecord,
  type SessionStore,
} from "./store";

/** What the session lifecycle lends the stored-record check. */
export interface RecordCheck {
  store: SessionStore;
  logger: Logger;
  flow: flow.FlowContext;
  mech: Pick<Mechanism, "authorize">;
}

/** Per store: the last unusable value warned about (warned once, not on every read) and its kind. */
const warned = new WeakMap<SessionStore, { value: string; kind: RecordProblem }>();
/** Stores whose orphan was already logged out by this process: at most one, so two configurations
 * wrongly sharing a store cannot log each other out in a loop. */
const loggedOut = new WeakSet<SessionStore>();

/** The origin as stored in a record: the base URL without any user:password in it. */
export function recordOrigin(origin: string): string {
  const url = new URL(origin);
  url.username = "";
  url.password = "";
  return url.href.replace(/\/$/, "");
}

/**
 * The stored value as this configuration's record, or undefined. An unusable one (corrupt, another
 * version, another owner) is logged once as one warning naming its kind; when its session key is still
 * readable and it came from this origin, its orphaned IBKR session is logged out first (one POST
 * /v1/api/logout), so it does not hold the brokerage session until IBKR drops it.
 */
export async function usableRecord(
  stored: unknown,
  owner: string,
  check: RecordCheck,
): Promise<SessionRecord | undefined> {
  const reading = classifyRecord(stored, owner);
  if (reading.kind === "ok" || reading.kind === "missing") {
    warned.delete(check.store);
    return reading.record;
  }
  const value = typeof stored === "string" ? stored : JSON.stringify(stored);
  if (warned.get(check.store)?.value === value) return undefined;
  warned.set(check.store, { value, kind: reading.kind });
  const orphanedSession = reading.orphan ? await logOutOrphan(reading.orphan, check) : "none readable";
  check.logger.warn(
    { step: "store", record: reading.kind, orphanedSession },
    `stored session ${RECORD_PROBLEMS[reading.kind]}; ignoring it, the next call logs in again`,
  );
  return undefined;
}

/** The kind of the last unusable record this process found in `store` since it last read a usable one. */
export function storedRecordProblem(store: SessionStore): RecordProblem | undefined {
  return warned.get(store)?.kind;
}

async function logOutOrphan(
  orphan: NonNullable<RecordReading["orphan"]>,
  check: RecordCheck,
): Promise<string> {
  // Its key goes only where it came from: our own configuration's (same owner, so same origin), or a
  // record that names our origin. A key from another host is never sent here.
  const here = recordOrigin(check.flow.origin);
  if (!orphan.sameOwner && orphan.origin !== here)
    return "not logged out: issued by another or an unknown origin";
  if (loggedOut.has(check.store)) return "not logged out: this process already logged out one orphan here";
  loggedOut.add(check.store);
  check.flow.remember(orphan.bearer.token);
  try {
    await flow.logout(check.flow, (method, url) => check.mech.authorize(orphan.bearer, method, url));
    return "logged out";
  } catch (e) {
    return `logout failed (${isIbauthError(e) ? e.code : "error"}); IBKR ends it at its own expiry`;
  }
}
