import { IBAuth, type Logger, parseSessionRecord, type SessionRecord } from "@ibauth/core";
import { type BufferedStore, bufferedStore } from "./buffered-store";
import { coreOptions, type WorkerConfig } from "./config";
import { kvStore } from "./kv-store";
import { acquireLease } from "./lease";
import { passLoginBrake } from "./login-brake";
import { type LeaseHeldError, loginGate } from "./login-gate";
import type { WorkerSettings } from "./settings";

const RECORD_TTL_SECONDS = 2 * 86_400;

export interface OperationResult<T> {
  value?: T;
  error?: unknown;
  /** Set when the operation needed a login and another isolate held the lease. */
  leaseHeld?: LeaseHeldError;
  auth: IBAuth;
  /** The record after the operation (written to KV once, at the end). */
  record: SessionRecord | undefined;
}

/** The KV names of one configuration: session record, lease and status. None holds a secret. */
export interface KvNames {
  session: string;
  lease: string;
  status: string;
  /** When the last login a caller caused (not the cron) happened. */
  brake: string;
}

/**
 * Runs one step (a tick, a login, a logout) with a fresh IBAuth that loads the record from KV, so every
 * isolate starts from the shared truth rather than from its own memory. Login requests go through the
 * lease gate; record writes are coalesced and flushed once at the end, even when the step failed
 * half-way (an access token is worth keeping).
 */
export async function runOperation<T>(
  config: WorkerConfig,
  settings: WorkerSettings,
  names: KvNames,
  logger: Logger,
  step: (auth: IBAuth, store: BufferedStore) => Promise<T>,
  /** `brake`: a caller asked for this (operator login, proxy heal), so its login passes the login brake first. */
  caller: { brake?: boolean } = {},
): Promise<OperationResult<T>> {
  const store = bufferedStore(
    kvStore(config.kv, {
      key: names.session,
      encryptionKey: config.keys.record,
      // IBKR sessions and access tokens last at most 24 h and every login rewrites the record, so an
      // abandoned Worker's tokens do not linger in KV.
      ttlSeconds: RECORD_TTL_SECONDS,
      logger,
    }),
  );
  const gate = loginGate(settings.fetch, async () => {
    if (caller.brake) {
      const brake = await passLoginBrake(config.kv, names.brake, settings.now);
      if (!brake.ok) return { won: false, heldUntil: settings.now() + brake.retryAfterMs, braked: true };
    }
    return acquireLease({
      namespace: config.kv,
      key: names.lease,
      ttlMs: settings.leaseMs,
      settleMs: settings.leaseSettleMs,
      now: settings.now,
      sleep: settings.sleep,
    });
  });
  // Once the lease is lost the operation is over: the core's retries need not wait, and its warnings
  // ("no HTTP answer") would only mislead; the caller logs what happened instead.
  const sleep = settings.auth.sleep ?? settings.sleep;
  const quiet = (level: keyof Logger) => (fields: Record<string, unknown>, msg?: string) => {
    if (!gate.lost) logger[level](fields, msg);
  };
  const auth = new IBAuth({
    ...coreOptions(settings.auth, config.auth),
    fetch: gate.fetch,
    store,
    logger: { debug: quiet("debug"), info: quiet("info"), warn: quiet("warn"), error: quiet("error") },
    now: settings.now,
    sleep: (ms) => (gate.lost ? Promise.resolve() : sleep(ms)),
  });
  const result: OperationResult<T> = { auth, record: undefined };
  try {
    result.value = await step(auth, store);
  } catch (error) {
    if (gate.lost) result.leaseHeld = gate.lost;
    else result.error = error;
  } finally {
    try {
      await store.flush();
    } catch (error) {
      result.error ??= error;
    }
    // After the flush, so that an isolate which takes the lease next reads the new record.
    await gate
      .release()
      .catch((error) =>
        logger.warn({ step: "lease", error: String(error) }, "could not release the login lease"),
      );
  }
  result.record = parseSessionRecord(await store.latest());
  return result;
}
