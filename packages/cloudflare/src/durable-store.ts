import type { Logger, SessionRecord, SessionStore } from "@ibauth/core";
import { openRecord, seal } from "./crypto";
import type { DurableStorageLike } from "./durable-types";

/**
 * The session record in a Durable Object's storage, sealed with the same AES-256-GCM as the KV record
 * (`aad` binds it to its object and name). Writes only on change; the object is the only writer, so no
 * lease and no write spacing are needed. Undecryptable values read as "no session".
 */
export function durableStore(
  storage: DurableStorageLike,
  options: { name: string; aad: string; key: CryptoKey; logger: Logger },
): SessionStore {
  let known: string | undefined;
  return {
    async get() {
      const value = await storage.get<string>(options.name);
      if (typeof value !== "string") return undefined;
      const plain = await openRecord(options.key, value, options.aad, options.logger, "durable-object");
      if (plain === undefined) return undefined;
      known = plain;
      return plain;
    },
    async set(record: SessionRecord) {
      const plain = JSON.stringify(record);
      if (plain === known) return;
      await storage.put(options.name, await seal(options.key, plain, options.aad));
      known = plain;
    },
    async delete() {
      await storage.delete(options.name);
      known = undefined;
    },
  };
}
