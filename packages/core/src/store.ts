import * as v from "valibot";

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
  accessToken?: { token: string; expiresAt: number };
  /** The session key: the SSO bearer (OAuth 2.0), or the live session token (OAuth 1.0a: no ip, an expiresAt). */
  bearer?: { token: string; ip: string; alternativeIps?: string[]; createdAt: number; expiresAt?: number };
  /** When ssodh/init last opened the brokerage session for this bearer. */
  brokerageInitAt?: number;
  updatedAt: number;
}

/** One versioned record. `get` answers `undefined` for missing or unreadable data; it never throws on corrupt data. */
export interface SessionStore {
  get(): Promise<unknown>;
  set(record: SessionRecord): Promise<void>;
  delete(): Promise<void>;
}

const Record = v.object({
  v: v.literal(1),
  owner: v.string(),
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
  updatedAt: v.number(),
});

/**
 * Reads a stored value (an object, or JSON text) into a SessionRecord; anything else (corrupt JSON,
 * another version, a wrong shape) gives `undefined`, so a bad record means "log in again", not a crash.
 */
export function parseSessionRecord(value: unknown): SessionRecord | undefined {
  let data = value;
  if (typeof value === "string") {
    try {
      data = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  const result = v.safeParse(Record, data);
  return result.success ? (result.output as SessionRecord) : undefined;
}

/** A store that lives as long as the process: the default. */
export function memoryStore(): SessionStore {
  let held: string | undefined;
  return {
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
