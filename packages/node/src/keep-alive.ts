import {
  type AuthStatus,
  type IBAuth,
  isIbauthError,
  type Logger,
  silentLogger,
  type TickOutcome,
} from "@ibauth/core";

/** What one tick did, for a caller that reports every tick (the CLI prints one line each). */
export type TickReport =
  | { ok: true; ms: number; action: TickOutcome["action"]; status: AuthStatus }
  | { ok: false; ms: number; error: unknown; retryInMs: number };

export interface KeepAliveOptions {
  /** Time between ticks while healthy. Default 60 000 ms (IBKR drops an idle session after ~6 min). */
  intervalMs?: number;
  /** Waits after 1, 2, 3+ consecutive failures. Default 5 s, 15 s, 60 s; longer when IBKR's 429 says so. */
  backoffMs?: number[];
  /**
   * Receives changes only (healed, failing, recovered), not every tick. The IBAuth's own logger
   * reports its state transitions (connecting, connected, degraded).
   */
  logger?: Logger;
  /** Called after every tick, success or failure, with its round trip. */
  onTick?: (report: TickReport) => void;
}

export interface KeepAlive {
  /** Stops ticking, waits for a tick in flight, and logs out when asked. Never throws. */
  stop(options?: { logout?: boolean }): Promise<void>;
}

function describe(error: unknown): Record<string, unknown> {
  if (isIbauthError(error)) {
    return { code: error.code, step: error.step, status: error.status, err: error.message };
  }
  // Not ours: keep only the type, since a foreign message could quote anything.
  return { code: "ERR_UNEXPECTED", err: error instanceof Error ? error.name : typeof error };
}

/**
 * Calls `auth.tick()` on an unref'd timer (it never keeps the process alive by itself). A tick that
 * fails is logged and retried after a back-off, then the normal interval resumes after a success;
 * ticks never overlap because the next one is scheduled only when the last one has finished.
 */
export function keepAlive(auth: IBAuth, options: KeepAliveOptions = {}): KeepAlive {
  const intervalMs = options.intervalMs ?? 60_000;
  const backoffMs = options.backoffMs ?? [5_000, 15_000, 60_000];
  const logger = options.logger ?? silentLogger;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  let failures = 0;
  let lastFailure: string | undefined;

  async function tickOnce(): Promise<number> {
    const started = performance.now();
    try {
      const { action, status } = await auth.tick();
      options.onTick?.({ ok: true, ms: performance.now() - started, action, status });
      if (failures > 0) logger.info({ failures, action, state: status.state }, "keepalive recovered");
      failures = 0;
      lastFailure = undefined;
      if (action === "reinit" || action === "relogin" || action === "login") {
        logger.info({ action, state: status.state }, `keepalive healed the session (${action})`);
      }
      return intervalMs;
    } catch (error) {
      failures += 1;
      const backoff = backoffMs[Math.min(failures, backoffMs.length) - 1] ?? intervalMs;
      // A 429 comes with IBKR's penalty: ticking before it ends only extends it.
      const delay = Math.max(backoff, isIbauthError(error) ? (error.retryAfterMs ?? 0) : 0);
      options.onTick?.({ ok: false, ms: performance.now() - started, error, retryInMs: delay });
      const fields = describe(error);
      // The same failure again is not news; a different one is.
      const key = `${fields.code}:${fields.step}`;
      if (key !== lastFailure)
        logger.warn({ ...fields, failures, retryInMs: delay }, "keepalive tick failed; backing off");
      lastFailure = key;
      return delay;
    }
  }

  function schedule(delay: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = tickOnce().then((next) => {
        inFlight = undefined;
        schedule(next);
      });
    }, delay);
    timer.unref();
  }

  schedule(intervalMs);
  logger.debug({ intervalMs }, "keepalive started");

  return {
    async stop({ logout = false } = {}) {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      if (logout) {
        try {
          await auth.logout();
        } catch (error) {
          logger.warn(describe(error), "logout failed");
        }
      }
      logger.debug({}, "keepalive stopped");
    },
  };
}
