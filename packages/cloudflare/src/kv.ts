/**
 * The part of a Workers KV binding this package uses. Structural, so a real `KVNamespace` fits without
 * @cloudflare/workers-types being a dependency.
 */
export interface KvNamespaceLike {
  get(key: string, type: "text"): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/** KV refuses expirations shorter than 60 s. */
export const KV_MIN_TTL_SECONDS = 60;

/** KV accepts about one write per second to the same key. */
export const KV_MIN_WRITE_INTERVAL_MS = 1000;

export function isKvNamespace(value: unknown): value is KvNamespaceLike {
  const ns = value as Partial<KvNamespaceLike> | undefined;
  return typeof ns?.get === "function" && typeof ns.put === "function" && typeof ns.delete === "function";
}
