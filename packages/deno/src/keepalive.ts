import { type IBAuth, IbauthError, type Logger, silentLogger } from "@ibauth/core";
import { createTicker, type TickReport } from "./ticker.ts";

/** Deno's structured cron schedule (`{ minute: { every: 1 } }`), typed loosely so no unstable types are needed. */
export type CronScheduleObject = Partial<
  Record<"minute" | "hour" | "dayOfMonth" | "month" | "dayOfWeek", unknown>
>;

type CronFn = (
  name: string,
  schedule: string | CronScheduleObject,
  options: { signal?: AbortSignal; backoffSchedule?: number[] },
  handler: () => Promise<void>,
) => Promise<void>;

export interface KeepAliveCronOptions {
  /** Cron expression (UTC) for `Deno.cron`. Default every minute: IBKR drops a session idle for ~6 minutes. */
  schedule?: string | CronScheduleObject;
  /** The `Deno.cron` name; unique per process. Default "ibauth keepalive". */
  name?: string;
  logger?: Logger;
  /**
   * "auto" (default) uses `Deno.cron` when the runtime has it (Deno Deploy, or `--unstable-cron`), else a
   * plain timer; "interval" forces the timer, "cron" requires `Deno.cron`.
   */
  mode?: "auto" | "cron" | "interval";
  /** Timer period when not on cron. Default: the schedule's period when it is `* * * * *` or `*\/N * * * *`, else 60 s. */
  intervalMs?: number;
  /** Longest wait between attempts after repeated failures. Default 10 minutes (IBKR's penalty-box length). */
  maxBackoffMs?: number;
  /** Called after every run with what happened: for metrics, health checks and tests. */
  onTick?: (report: TickReport) => void;
  /** Clock for the backoff; default Date.now. */
  now?: () => number;
}

export interface KeepAliveHandle {
  /** Which scheduler is running. */
  readonly mode: "cron" | "interval";
  /** Stops scheduling and waits for a tick in flight. The session stays open: call `auth.logout()` to end it. */
  stop(): Promise<void>;
}

const MINUTE = 60_000;

/**
 * Keeps an IBKR session alive by calling `auth.tick()` on a schedule: `Deno.cron` when available, a
 * timer otherwise. A failed tick never stops the keepalive; it backs off (period, 2x, 4x ... up to
 * `maxBackoffMs`, or longer when IBKR sent Retry-After) and recovers on the next success.
 */
export function keepAliveCron(
  auth: Pick<IBAuth, "tick">,
  options: KeepAliveCronOptions = {},
): KeepAliveHandle {
  const schedule = options.schedule ?? "* * * * *";
  const logger = options.logger ?? silentLogger;
  const cron = (Deno as unknown as { cron?: CronFn }).cron;
  const mode = options.mode ?? "auto";
  if (mode === "cron" && typeof cron !== "function") {
    throw new IbauthError("Deno.cron is not available in this runtime", {
      code: "ERR_CONFIG",
      step: "config",
      field: "mode",
      hint: 'run deno with --unstable-cron (or "unstable": ["cron"] in deno.json), or use mode "auto"',
    });
  }
  const useCron = mode !== "interval" && typeof cron === "function";
  const periodMs = options.intervalMs ?? periodOf(schedule) ?? MINUTE;
  const ticker = createTicker(auth, {
    logger,
    baseMs: periodMs,
    maxMs: Math.max(periodMs, options.maxBackoffMs ?? 10 * MINUTE),
    now: options.now ?? Date.now,
    ...(options.onTick ? { onTick: options.onTick } : {}),
  });

  if (useCron && cron) {
    const abort = new AbortController();
    const name = options.name ?? "ibauth keepalive";
    try {
      // Deno.cron's own retry is off: the ticker owns backoff, and its handler never throws.
      cron(name, schedule, { signal: abort.signal, backoffSchedule: [] }, async () => {
        await ticker.run();
      }).catch((error: unknown) =>
        logger.error({ step: "keepalive", error: String(error) }, "Deno.cron stopped"),
      );
    } catch (error) {
      throw new IbauthError(
        `Deno.cron refused the keepalive (${error instanceof Error ? error.message : String(error)})`,
        {
          code: "ERR_CONFIG",
          step: "config",
          field: "schedule",
          hint: "check the schedule (5-field cron, UTC) and that the name is not already registered",
          cause: error,
        },
      );
    }
    logger.info(
      {
        step: "keepalive",
        mode: "cron",
        schedule: typeof schedule === "string" ? schedule : JSON.stringify(schedule),
      },
      "keepalive scheduled",
    );
    return {
      mode: "cron",
      async stop() {
        abort.abort();
        await ticker.stop();
      },
    };
  }

  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const loop = async () => {
    const report = await ticker.run();
    if (stopped) return;
    timer = setTimeout(loop, report.ok === false ? report.retryInMs : periodMs);
  };
  timer = setTimeout(loop, periodMs);
  logger.info({ step: "keepalive", mode: "interval", intervalMs: periodMs }, "keepalive scheduled");
  return {
    mode: "interval",
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await ticker.stop();
    },
  };
}

/** The period of the two common every-N-minutes schedules; undefined for anything else. */
function periodOf(schedule: string | CronScheduleObject): number | undefined {
  if (typeof schedule !== "string") return undefined;
  const match = /^(\*|\*\/(\d+))\s+\*\s+\*\s+\*\s+\*$/.exec(schedule.trim());
  if (!match) return undefined;
  return (match[2] ? Number(match[2]) : 1) * MINUTE;
}
