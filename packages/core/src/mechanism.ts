import type { IbauthError, IbauthStep } from "./errors";
import type { FlowContext } from "./flow";
import type { SessionRecord } from "./store";
import type { AuthStatus } from "./types";

/** The key a mechanism obtains for a session: an SSO bearer (OAuth 2.0) or a live session token (OAuth 1.0a). */
export type SessionKey = NonNullable<SessionRecord["bearer"]>;

/** What the session lifecycle lends a mechanism. */
export interface MechanismHost {
  flow: FlowContext;
  /** Single flight by key, shared with the lifecycle's own. */
  once<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /** Writes the session record (the mechanism's own fields included) if anything changed. */
  save(): Promise<void>;
  /** Records a failure in status() without throwing it. */
  fail(e: unknown): void;
  counters: AuthStatus["counters"];
}

/**
 * One credential mechanism under the session lifecycle: how a session key is obtained, how one request is
 * authorised with it, and what a refusal of a key obtained moments ago means. State, store sync, healing,
 * single flight and keepalive live in the lifecycle (ibauth.ts, session.ts, store-sync.ts, heal.ts), once
 * for every mechanism.
 */
export interface Mechanism {
  /** Hashed into the stored record's owner: which configuration a stored session belongs to. */
  readonly identity: string;
  /** All the round trips a new session key takes. `previous` is the key it replaces, if any. */
  obtain(reason: string, previous: SessionKey | undefined): Promise<SessionKey>;
  /** The Authorization header value for one request. */
  authorize(key: SessionKey, method: string, url: string): Promise<string>;
  /** A 401 for a key obtained moments ago: the error that names the likely cause. */
  refusal(key: SessionKey | undefined, response: Response | undefined, step: IbauthStep): IbauthError;
  /** Must the key be replaced before its next use (its own expiry, less the refresh margin)? */
  expiring(key: SessionKey): boolean;
  /** Each tick: keep ahead of expiries. Failures are recorded, not thrown. */
  maintain(): Promise<void>;
  /** Its own fields of the stored record, and taking them from a stored record. */
  persisted(): Pick<SessionRecord, "accessToken">;
  adopt(record: SessionRecord): void;
  /** Its part of status(): never a secret. */
  status(key: SessionKey | undefined): Partial<AuthStatus>;
}
