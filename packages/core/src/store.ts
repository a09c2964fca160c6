import * as v from "valibot";
import type { PacingRecord } from "./pacing-table";
import { storedData } from "./stored-json";
import type { ValidateResult } from "./types";

/**
 * Everything needed to resume a session in another process, isolate or cron tick. It holds tokens,
 * so stores must keep it private (file mode 0600, encrypted KV); the store *key* never holds a secret.
 * The core only writes it when a field changes: a plain keepalive tick writes nothing.
 */
export interface SessionRecord {
  /** Record format version; a record of another version counts as missing. */
  v: 1;
  /** Which configuration owns this session: a hash of client id, credential and origin. */
  owner: string;
  /** The IBKR origin that issued the tokens (no secret): where an orphaned record's session may be logged out. */
  origin?: string;
  accessToken?: { token: string; expiresAt: number };
  /** The session key: the SSO bearer (OAuth 2.0), or the live session token (OAuth 1.0a: no ip, an expiresAt). */
  bearer?: { token: string; ip: string; alternativeIps?: string[]; createdAt: number; expiresAt?: number };
  /** When ssodh/init last opened the brokerage session for this bearer. */
  brokerageInitAt?: number;
  /** The last /sso/validate answer for this bearer: IBKR allows one a minute, so the next process within it reuses it. */
  validated?: { at: number; result: ValidateResult };
  updatedAt: number;
}

/** One versioned record. `get` answers `undefined` for missing or unreadable data; it never throws on corrupt data. */
export interface SessionStore {
  get(): Promise<unknown>;
  set(record: SessionRecord): Promise<void>;
  delete(): Promise<void>;
  /** IBKR's pacing for each username, beside the session record: it outlives logout and is shared by every session of the username. */
  pacing?: PacingStore;
  /**
   * Mutual exclusion among processes sharing this store, held for moments: "login" around a login (so
   * two processes on one session log in once), "pacing" around the read-check-write of a pacing record
   * (so a file store holds the slow rows exactly). Resolves with the release. A holder that died is
   * overtaken after a few seconds.
   */
  lock?(name: "login" | "pacing"): Promise<() => Promise<void>>;
}

/**
 * A sibling record per username (`id`: a hash of client id, username and origin, no secret) holding a
 * PacingRecord: the 429 penalty, the strike count, and the last send time of slow table rows.
 *
 * How well it holds IBKR's limits across processes depends on the store:
 * - `accuracy: "exact"`: every read sees every earlier write and writers are serialised (one
 *   process's memory, a Durable Object, Redis with a transaction).
 * - `accuracy: "approximate"`: the last write wins (a file, Cloudflare KV, Deno KV without a
 *   transaction). Two processes sending in the same few milliseconds can both see the row free.
 * `staleMs` is how old a read may be (a file: 0; Workers KV: up to 60 000). Rows shorter than that are
 * not worth sharing and are not written, which keeps metered stores cheap: on KV only the penalty and
 * the one-a-minute /sso/validate are written, never a tickle.
 * The global 50-a-second window itself stays per process: sharing it needs an atomic counter.
 */
export interface PacingStore {
  readonly accuracy: "exact" | "approximate";
  readonly staleMs: number;
  get(id: string): Promise<unknown>;
  set(id: string, record: PacingRecord): Promise<void>;
}

const Record = v.object({
  v: v.literal(1),
  owner: v.string(),
  origin: v.optional(v.string()),
  accessToken: v.optional(v.object({ token: v.pipe(v.string(), v.minLength(1)), expiresAt: v.number() })),
  bearer: v.optional(
    v.object({
      token: v.pipe(v.string(), v.minLength(1)),
      ip: v.string(),
      alternativeIps: v.optional(v.array(v.string())),
      createdAt: v.number(),
      expiresAt: v.optional(v.number()),
    }),
  ),
  brokerageInitAt: v.optional(v.number()),
  validated: v.optional(
    v.object({
      at: v.number(),
      result: v.object({
        valid: v.boolean(),
        userId: v.optional(v.number()),
        expiresMs: v.optional(v.number()),
        paper: v.optional(v.boolean()),
        region: v.optional(v.string()),
      }),
    }),
  ),
  updatedAt: v.number(),
});

/** What a stored value turned out to be. Only "ok" is used; every other kind means "log in again". */
export type RecordKind =
  | "ok"
  | "missing"
  | "corrupt"
  | "unsupported-version"
  | "foreign-owner"
  | "undecryptable";

/** The kinds of a record that was there but could not be used. */
export type RecordProblem = Exclude<RecordKind, "ok" | "missing">;

/**
 * A sealed record that does not open. AES-GCM's tag fails the same way for a wrong key and for altered
 * bytes, so the message cannot say which. `keyName`: what the user sets, e.g. IBAUTH_SESSION_KEY.
 */
export const undecryptableProblem = (keyName: string) =>
  `undecryptable: ${keyName} changed or the record was tampered with`;

/** Why a stored record was not used, as logged and shown by `ibauth status`. Names no secret and no owner. */
export const RECORD_PROBLEMS: Record<RecordProblem, string> = {
  corrupt: "corrupt: not a session record",
  "unsupported-version": "unsupported version: written by another version of ibauth",
  "foreign-owner": "foreign: written by another configuration (client id, username or origin)",
  undecryptable: undecryptableProblem("the encryption key"),
};

export interface RecordReading {
  kind: RecordKind;
  record?: SessionRecord;
  /** A foreign or other-version record's session key, still readable: its IBKR session is orphaned. */
  orphan?: { bearer: NonNullable<SessionRecord["bearer"]>; sameOwner: boolean; origin?: string };
}

const Orphan = v.object({
  owner: v.optional(v.string()),
  origin: v.optional(v.string()),
  bearer: v.object({
    token: v.pipe(v.string(), v.minLength(1)),
    ip: v.optional(v.string(), ""),
    createdAt: v.optional(v.number(), 0),
  }),
});

function orphanOf(data: unknown, owner: string): Pick<RecordReading, "orphan"> {
  const found = v.safeParse(Orphan, data);
  if (!found.success) return {};
  const { bearer, origin } = found.output;
  return {
    orphan: { bearer, sameOwner: found.output.owner === owner, ...(origin === undefined ? {} : { origin }) },
  };
}

/**
 * Sorts a stored value (an object, or JSON text) for the configuration whose owner hash is `owner`: a
 * usable record, nothing, or which kind of unusable one, with its session key when that is still readable.
 */
export function classifyRecord(value: unknown, owner: string): RecordReading {
  if (value === undefined || value === null || value === "") return { kind: "missing" };
  const decoded = decode(value);
  if (!decoded) return { kind: "corrupt" };
  const { data, record } = decoded;
  if (record)
    return record.owner === owner
      ? { kind: "ok", record }
      : { kind: "foreign-owner", ...orphanOf(data, owner) };
  const version = typeof data === "object" && data !== null ? (data as { v?: unknown }).v : undefined;
  if (version !== undefined && version !== 1)
    return { kind: "unsupported-version", ...orphanOf(data, owner) };
  return { kind: "corrupt" };
}

/** The value as data (JSON text parsed), and as a record when it has this version's shape; undefined for bad JSON. */
function decode(value: unknown): { data: unknown; record?: SessionRecord } | undefined {
  const stored = storedData(value);
  if (!stored) return undefined;
  const result = v.safeParse(Record, stored.data);
  return result.success ? { data: stored.data, record: result.output as SessionRecord } : stored;
}

/**
 * Reads a stored value (an object, or JSON text) into a SessionRecord of any owner; anything else (corrupt
 * JSON, another version, a wrong shape) gives `undefined`, so a bad record means "log in again", not a crash.
 */
export function parseSessionRecord(value: unknown): SessionRecord | undefined {
  return decode(value)?.record;
}

/** A store that lives as long as the process: the default. Its pacing is exact (one process, no I/O). */
export function memoryStore(): SessionStore {
  let held: string | undefined;
  const pacing = new Map<string, string>();
  return {
    pacing: {
      accuracy: "exact",
      staleMs: 0,
      async get(id) {
        const text = pacing.get(id);
        return text === undefined ? undefined : JSON.parse(text);
      },
      async set(id, record) {
        pacing.set(id, JSON.stringify(record));
      },
    },
    async get() {
      return held === undefined ? undefined : JSON.parse(held);
    },
    async set(record) {
      held = JSON.stringify(record);
    },
    async delete() {
      held = undefined;
    },
  };
}
