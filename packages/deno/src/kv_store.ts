import {
  IbauthError,
  type Logger,
  type PacingRecord,
  type SessionRecord,
  type SessionStore,
  silentLogger,
  undecryptableProblem,
} from "@ibauth/core";
import { importSealKey, isSealed, namingKeyFor, seal, unseal } from "./seal.ts";

type KvKeyPart = string | number | bigint | boolean | Uint8Array;

/** A pacing record matters for at most a 15-minute penalty; a day lets an idle one go. */
const PACING_EXPIRE_MS = 86_400_000;

/** The part of `Deno.Kv` the store uses; typed here so the package type-checks without `--unstable-kv`. */
export interface KvLike {
  get(key: KvKeyPart[]): Promise<{ value: unknown }>;
  set(key: KvKeyPart[], value: unknown, options?: { expireIn?: number }): Promise<unknown>;
  delete(key: KvKeyPart[]): Promise<void>;
}

export interface DenoKvStoreOptions {
  /**
   * Tells sessions sharing one KV apart, e.g. `${clientId}:${credential}`. Only a hash of it enters the
   * key: an HMAC keyed by the encryption key when that is given as bytes or base64 (then a guessed
   * username cannot be confirmed from the key), else a plain SHA-256. Default "default".
   */
  id?: string;
  /** Key prefix. Default `["ibauth", "session"]`; the key is `[...prefix, hash(id) in hex, first 32 chars]`. */
  prefix?: KvKeyPart[];
  /**
   * Encrypts the record (AES-GCM): a CryptoKey, or 16/32 raw bytes or their base64 text. Without it the
   * record, which holds live tokens, is stored as plain JSON.
   */
  encryptionKey?: CryptoKey | Uint8Array | string;
  /** Let KV drop a record not rewritten for this long. Default 25 h: no IBKR session outlives a day. */
  expireInMs?: number;
  /** Told (without details) when a stored record cannot be read and a fresh login follows. */
  logger?: Logger;
}

const DAY_AND_AN_HOUR = 25 * 60 * 60 * 1000;

/**
 * A SessionStore on Deno KV (`await Deno.openKv()`): one key per session, so every isolate, process or
 * cron run that shares the KV resumes the same IBKR session instead of logging in again.
 */
export function denoKvStore(kv: KvLike, options: DenoKvStoreOptions = {}): SessionStore {
  const logger = options.logger ?? silentLogger;
  const expireIn = options.expireInMs ?? DAY_AND_AN_HOUR;
  const ready = (async () => {
    const sealKey =
      options.encryptionKey === undefined ? undefined : await importSealKey(options.encryptionKey);
    const naming = sealKey && options.encryptionKey ? await namingKeyFor(options.encryptionKey) : undefined;
    const hash = await hashHex(options.id ?? "default", naming);
    const key = [...(options.prefix ?? ["ibauth", "session"]), hash.slice(0, 32)];
    return { key, context: key.map(String).join("/"), sealKey };
  })();
  // A bad encryption key is a config error: surface it at the first use, not as an unhandled rejection.
  ready.catch(() => {});
  let warned: string | undefined;

  return {
    async get() {
      const { key, context, sealKey } = await ready;
      const { value } = await guard("read", () => kv.get(key));
      if (value === null || value === undefined) return undefined;
      if (!sealKey && typeof value === "string") return value;
      const plain = sealKey ? await unseal(sealKey, value, context) : undefined;
      if (plain !== undefined) {
        warned = undefined;
        return plain;
      }
      // One warning per unreadable value, not one per read of it.
      const seen = JSON.stringify(value instanceof Uint8Array ? [...value] : value);
      if (seen === warned) return undefined;
      warned = seen;
      if (!isSealed(value))
        return unreadable(logger, "corrupt", sealKey ? "not encrypted" : "not a session record");
      return unreadable(
        logger,
        "undecryptable",
        sealKey
          ? undecryptableProblem("the encryptionKey")
          : "undecryptable: encrypted, and no encryptionKey was given",
      );
    },
    async set(record: SessionRecord) {
      const { key, context, sealKey } = await ready;
      const text = JSON.stringify(record);
      const value = sealKey ? await seal(sealKey, text, context) : text;
      await guard("write", () => kv.set(key, value, { expireIn }));
    },
    // IBKR's pacing for the username, beside the record (no secret in it). Deno KV reads are strongly
    // consistent by default, but a plain get/set is not a transaction: the last write wins.
    pacing: {
      accuracy: "approximate",
      staleMs: 0,
      async get() {
        const { key } = await ready;
        return (await guard("read", () => kv.get([...key, "pacing"]))).value ?? undefined;
      },
      async set(_id: string, record: PacingRecord) {
        const { key } = await ready;
        await guard("write", () => kv.set([...key, "pacing"], record, { expireIn: PACING_EXPIRE_MS }));
      },
    },
    async delete() {
      const { key } = await ready;
      await guard("delete", () => kv.delete(key));
    },
  };
}

/** One warning naming the kind; the core judges a readable record itself (another version or owner). */
function unreadable(logger: Logger, kind: "undecryptable" | "corrupt", reason: string): undefined {
  logger.warn(
    { step: "store", record: kind },
    `stored session ${kind === "corrupt" ? `corrupt: ${reason}` : reason}; ignoring it, the next call logs in again`,
  );
  return undefined;
}

async function guard<T>(action: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new IbauthError(`Deno KV ${action} failed (${error instanceof Error ? error.name : "error"})`, {
      code: "ERR_STORE",
      step: "store",
      hint: "check that the KV is open (not closed) and reachable; run deno with --unstable-kv",
      cause: error,
    });
  }
}

async function hashHex(text: string, key: CryptoKey | undefined): Promise<string> {
  const data = new TextEncoder().encode(text);
  const digest = key
    ? await crypto.subtle.sign("HMAC", key, data)
    : await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
