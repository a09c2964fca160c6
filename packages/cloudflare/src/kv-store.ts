import {
  IbauthError,
  type Logger,
  type PacingRecord,
  type SessionRecord,
  type SessionStore,
  silentLogger,
} from "@ibauth/core";
import { deriveSessionKeys, openRecord, seal } from "./crypto";
import { KV_MIN_TTL_SECONDS, KV_MIN_WRITE_INTERVAL_MS, type KvNamespaceLike } from "./kv";

export interface KvStoreOptions {
  /** The KV key. It must not contain a secret. Default `ibauth:session:v1`. */
  key?: string;
  /**
   * Encrypts the record with AES-256-GCM: IBAUTH_SESSION_KEY (base64 of 32 bytes) or an AES-GCM CryptoKey.
   * With a key, plaintext or foreign values read as "no session". Without one, the record is stored as JSON.
   */
  encryptionKey?: string | CryptoKey;
  /** Let KV drop the record after this many seconds (at least 60, KV's minimum). Default: never. */
  ttlSeconds?: number;
  logger?: Logger;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The session record in Workers KV. Writes happen only when the record's content changes, at most one
 * per second (KV's per-key limit), and never on a read. Corrupt, foreign or undecryptable values read
 * as `undefined`, so a bad record means "log in again", never a crash.
 */
/** A pacing record matters for at most a 15-minute penalty: a day covers it and lets an idle one go. */
const PACING_TTL_SECONDS = 86_400;

export function kvStore(namespace: KvNamespaceLike, options: KvStoreOptions = {}): SessionStore {
  const key = options.key ?? "ibauth:session:v1";
  const logger = options.logger ?? silentLogger;
  const ttl = options.ttlSeconds;
  if (ttl !== undefined && !(Number.isFinite(ttl) && ttl >= KV_MIN_TTL_SECONDS)) {
    throw new IbauthError(`ttlSeconds must be at least ${KV_MIN_TTL_SECONDS} (the KV minimum)`, {
      code: "ERR_CONFIG",
      step: "config",
      field: "ttlSeconds",
    });
  }
  const cryptoKey: Promise<CryptoKey> | undefined =
    options.encryptionKey === undefined
      ? undefined
      : typeof options.encryptionKey === "string"
        ? deriveSessionKeys(options.encryptionKey).then((keys) => keys.record)
        : Promise.resolve(options.encryptionKey);
  // Keep an early rejection from being reported as unhandled; every use awaits it again.
  cryptoKey?.catch(() => {});

  let known: string | undefined; // plaintext last read or written: a set of the same text is skipped
  let lastWriteAt = 0;

  async function write(value: string): Promise<void> {
    const wait = lastWriteAt + KV_MIN_WRITE_INTERVAL_MS - Date.now();
    if (wait > 0) await sleep(wait);
    try {
      await namespace.put(key, value, ttl === undefined ? undefined : { expirationTtl: Math.ceil(ttl) });
    } catch (cause) {
      throw new IbauthError("could not write the session record to KV", {
        code: "ERR_STORE",
        step: "store",
        cause,
        hint: "KV accepts about 1 write/s per key and 1,000 writes/day on the free plan; check the Worker's KV usage",
      });
    } finally {
      lastWriteAt = Date.now();
    }
  }

  return {
    async get() {
      let value: string | null;
      try {
        value = await namespace.get(key, "text");
      } catch (cause) {
        throw new IbauthError("could not read the session record from KV", {
          code: "ERR_STORE",
          step: "store",
          cause,
        });
      }
      if (value === null) {
        known = undefined;
        return undefined;
      }
      if (!cryptoKey) {
        known = value;
        return value;
      }
      const plain = await openRecord(await cryptoKey, value, key, logger, "kv");
      if (plain === undefined) return undefined;
      known = plain;
      return plain;
    },
    async set(record: SessionRecord) {
      const plain = JSON.stringify(record);
      if (plain === known) return;
      await write(cryptoKey ? await seal(await cryptoKey, plain, key) : plain);
      known = plain;
    },
    // IBKR's pacing for this configuration's username, beside the record. No secret in it, so not sealed.
    // KV is eventually consistent (up to 60 s), so only the penalty and minute-long rows are written.
    pacing: {
      accuracy: "approximate",
      staleMs: 60_000,
      async get() {
        return (await namespace.get(`${key}:pacing`, "text")) ?? undefined;
      },
      async set(_id: string, record: PacingRecord) {
        await namespace.put(`${key}:pacing`, JSON.stringify(record), { expirationTtl: PACING_TTL_SECONDS });
      },
    },
    async delete() {
      try {
        await namespace.delete(key);
      } catch (cause) {
        throw new IbauthError("could not delete the session record from KV", {
          code: "ERR_STORE",
          step: "store",
          cause,
        });
      }
      known = undefined;
    },
  };
}
