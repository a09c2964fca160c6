import { type CreateWorkerOptions, resolveSettings, type WorkerSettings } from "./settings";

/** Options of the Durable Object mode: the KV mode's that apply, plus the alarm's rhythm. */
export interface DurableWorkerOptions
  extends Pick<
    CreateWorkerOptions,
    "fetch" | "logger" | "now" | "sleep" | "freshBearerMs" | "maxReplayBodyBytes" | "auth"
  > {
  /** The keepalive alarm's interval while the session is wanted. Default 60 000 ms (IBKR idles out after ~6 min). */
  keepaliveMs?: number;
  /** The first retry after a failed tick; it doubles per failure, up to keepaliveMs. Default 5 000 ms. */
  retryMs?: number;
}

export interface DurableSettings extends WorkerSettings {
  keepaliveMs: number;
  retryMs: number;
}

export function resolveDurableSettings(options: DurableWorkerOptions): DurableSettings {
  return {
    ...resolveSettings(options),
    keepaliveMs: options.keepaliveMs ?? 60_000,
    retryMs: options.retryMs ?? 5_000,
  };
}

/** Worker → object: which user a request is for (the object stores it on first contact). */
export const USER_HEADER = "x-ibauth-user";
/** The cron watchdog's request: make sure the alarm is armed, nothing else. */
export const POKE_PATH = "/__ibauth/poke";
