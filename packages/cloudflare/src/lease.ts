import { KV_MIN_TTL_SECONDS, type KvNamespaceLike } from "./kv";

export interface LeaseOptions {
  namespace: KvNamespaceLike;
  key: string;
  /** How long a won lease keeps other isolates from logging in. */
  ttlMs: number;
  /**
   * Wait between writing the lease and reading it back. KV has no compare-and-set: two isolates that
   * both write within this window both read back the later write, and only its owner proceeds.
   */
  settleMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

interface LeaseRecord {
  owner: string;
  until: number;
}

function parseLease(value: string | null): LeaseRecord | undefined {
  if (value === null) return undefined;
  try {
    const data = JSON.parse(value) as Partial<LeaseRecord>;
    return typeof data.owner === "string" && typeof data.until === "number"
      ? (data as LeaseRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

export type LeaseResult =
  | { won: true; release: () => Promise<void> }
  | { won: false; heldUntil: number; braked?: true };

/**
 * A best-effort login lease in KV ({ owner, until }): read, write if free, wait, read back. It is one KV
 * write per login, never per tick. Within one Cloudflare location it serialises logins; across
 * locations KV's eventual consistency (up to 60 s) can let two winners through, which is why logins
 * are also confined to the cron tick. The winner releases it when its operation ends; a crashed
 * winner's lease simply expires.
 */
export async function acquireLease(options: LeaseOptions): Promise<LeaseResult> {
  const { namespace, key, now } = options;
  const owner = crypto.randomUUID();
  const held = parseLease(await namespace.get(key, "text"));
  if (held && held.until > now()) return { won: false, heldUntil: held.until };
  const until = now() + options.ttlMs;
  await namespace.put(key, JSON.stringify({ owner, until } satisfies LeaseRecord), {
    expirationTtl: Math.max(KV_MIN_TTL_SECONDS, Math.ceil(options.ttlMs / 1000)),
  });
  await options.sleep(options.settleMs);
  const after = parseLease(await namespace.get(key, "text"));
  if (after?.owner !== owner) return { won: false, heldUntil: after?.until ?? until };
  return {
    won: true,
    release: async () => {
      // Only our own lease is deleted; a lease someone took after ours expired is left alone.
      if (parseLease(await namespace.get(key, "text"))?.owner === owner) await namespace.delete(key);
    },
  };
}
