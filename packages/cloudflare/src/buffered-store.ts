import type { SessionRecord, SessionStore } from "@ibauth/core";

type Change = { kind: "set"; record: SessionRecord } | { kind: "delete" };

export interface BufferedStore extends SessionStore {
  /** Writes the last pending change, if any, to the underlying store. */
  flush(): Promise<void>;
  /** The record as this operation last saw or wrote it (flushed or not). */
  latest(): Promise<unknown>;
}

/**
 * Holds a login's successive record writes (access token, bearer, init) in memory and writes only the
 * last one when the operation ends: one KV put per login instead of three, and no 1 write/s collisions.
 */
export function bufferedStore(inner: SessionStore): BufferedStore {
  let pending: Change | undefined;
  let settled: Change | undefined; // the last change flushed, so latest() needs no read-back
  let seen: { value: unknown } | undefined; // the last value read through, likewise
  const view = (change: Change) => (change.kind === "set" ? change.record : undefined);
  return {
    // rare (a penalty, a validate) and read by other isolates: not buffered
    ...(inner.pacing ? { pacing: inner.pacing } : {}),
    async get() {
      if (pending) return view(pending);
      const value = await inner.get();
      seen = { value };
      return value;
    },
    async set(record) {
      pending = { kind: "set", record };
    },
    async delete() {
      pending = { kind: "delete" };
    },
    async latest() {
      const change = pending ?? settled;
      if (change) return view(change);
      return seen ? seen.value : inner.get();
    },
    async flush() {
      const change = pending;
      if (!change) return;
      if (change.kind === "set") await inner.set(change.record);
      else await inner.delete();
      pending = undefined;
      settled = change;
    },
  };
}
