import { type IBAuth, isIbauthError, type Logger, type TickOutcome } from "@ibauth/core";

/** What one scheduled run did; `onTick` receives it. */
export type TickReport =
  | { ok: true; outcome: TickOutcome }
  | { ok: false; error: unknown; failures: number; retryInMs: number }
  | { ok: "skipped"; reason: "busy" | "backoff" | "stopped" };

export interface TickerOptions {
  logger: Logger;
  /** The normal gap between ticks; the first retry after a failure waits this long. */
  baseMs: number;
  /** Backoff ceiling. IBKR's rate-limit penalty box lasts about 10 minutes. */
  maxMs: number;
  now: () => number;
  onTick?: (report: TickReport) => void;
}

export interface Ticker {
  /** Runs `auth.tick()` unless one is in flight or a backoff is pending; never throws. */
  run(): Promise<TickReport>;
  stop(): Promise<void>;
}

/**
 * The part of keepAliveCron that both schedulers share: one tick at a time, exponential backoff after
 * failures (honouring IBKR's Retry-After), and no error ever escaping into the scheduler.
 */
export function createTicker(auth: Pick<IBAuth, "tick">, options: TickerOptions): Ticker {
  const { logger, baseMs, maxMs, now } = options;
  let failures = 0;
  let notBefore = 0;
  let inFlight: Promise<TickReport> | undefined;
  let stopped = false;

  const report = (r: TickReport): TickReport => {
    try {
      options.onTick?.(r);
    } catch (error) {
      logger.warn({ error: errorName(error) }, "keepalive onTick callback threw; ignored");
    }
    return r;
  };

  const backoffMs = (error: unknown) => {
    const exponential = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
    const retryAfter = isIbauthError(error) ? (error.retryAfterMs ?? 0) : 0;
    return Math.max(exponential, retryAfter);
  };

  const once = async (): Promise<TickReport> => {
    const startedAt = now();
    try {
      const outcome = await auth.tick();
      if (failures > 0)
        logger.info({ step: "keepalive", after: failures, action: outcome.action }, "keepalive recovered");
      else if (outcome.action !== "tickled" && outcome.action !== "skipped") {
        logger.info({ step: "keepalive", action: outcome.action }, "keepalive healed the session");
      } else logger.debug({ step: "keepalive", action: outcome.action }, "keepalive tick");
      failures = 0;
      notBefore = 0;
      return report({ ok: true, outcome });
    } catch (error) {
      failures += 1;
      const retryInMs = backoffMs(error);
      // Measured from the start of the tick, so a cron firing exactly one period later is not skipped.
      notBefore = startedAt + retryInMs - Math.min(1000, retryInMs / 10);
      logger.warn(
        { step: "keepalive", failures, retryInMs, ...describe(error) },
        "keepalive tick failed; backing off",
      );
      return report({ ok: false, error, failures, retryInMs });
    }
  };

  return {
    run() {
      if (stopped) return Promise.resolve(report({ ok: "skipped", reason: "stopped" }));
      if (inFlight) return Promise.resolve(report({ ok: "skipped", reason: "busy" }));
      if (now() < notBefore) return Promise.resolve(report({ ok: "skipped", reason: "backoff" }));
      inFlight = once().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    async stop() {
      stopped = true;
      await inFlight;
    },
  };
}

/** Log fields for an error: IbauthError's parts are secret-free by contract; others give name and message. */
function describe(error: unknown): Record<string, unknown> {
  if (isIbauthError(error)) {
    return { code: error.code, failedStep: error.step, status: error.status, error: error.message };
  }
  return {
    error: errorName(error),
    message: error instanceof Error ? error.message.slice(0, 200) : undefined,
  };
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
