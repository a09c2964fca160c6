import { KV_MIN_TTL_SECONDS, type KvNamespaceLike } from "./kv";

/** At most one login a minute on behalf of callers (POST /session/login, proxy heals); the cron is not braked. */
export const LOGIN_BRAKE_MS = 60_000;

export type BrakeResult = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * A login brake shared by isolates through KV ({ at } of the last caller-caused login): an API-key holder
 * who logs out and in, or calls /v1/api/logout through the proxy and then anything else, would otherwise
 * buy a new IBKR login (and with `compete`, take the session from TWS) on every round. Best effort like
 * the lease: KV is eventually consistent across locations.
 */
export async function passLoginBrake(
  namespace: KvNamespaceLike,
  key: string,
  now: () => number,
): Promise<BrakeResult> {
  let last: number | undefined;
  try {
    const data = JSON.parse((await namespace.get(key, "text")) ?? "null") as { at?: unknown } | null;
    last = typeof data?.at === "number" ? data.at : undefined;
  } catch {}
  const at = now();
  if (last !== undefined && at - last < LOGIN_BRAKE_MS && at >= last) {
    return { ok: false, retryAfterMs: last + LOGIN_BRAKE_MS - at };
  }
  await namespace.put(key, JSON.stringify({ at }), {
    expirationTtl: Math.max(KV_MIN_TTL_SECONDS, Math.ceil(LOGIN_BRAKE_MS / 1000)),
  });
  return { ok: true };
}
