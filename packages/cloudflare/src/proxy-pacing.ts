import {
  endpointTable,
  isIbauthError,
  type Logger,
  Pacer,
  PacingShare,
  parseRetryAfter,
  type SessionStore,
} from "@ibauth/core";
import { problem } from "./respond";
import type { WorkerSettings } from "./settings";

/** The proxy's share of IBKR's budget in one isolate: the core's pacer, with the penalty shared through KV. */
export interface ProxyPacing {
  /** Waits for this request's turn; throws ERR_RATE_LIMITED (with retryAfterMs) during a known penalty. */
  admit(path: string, signal: AbortSignal): Promise<() => void>;
  /** IBKR's answer: a 429 starts the penalty here and in KV (for the cron and other isolates), a success ends the strikes. */
  observe(response: Response): void;
}

/**
 * One per isolate. The penalty other isolates or the cron met is read from KV at most every
 * recordCacheMs (KV itself may lag up to 60 s). What it does not give: a global 50/s across isolates;
 * each isolate keeps its own window (a Durable Object could hold one for all).
 */
export function proxyPacing(store: SessionStore, settings: WorkerSettings, logger: Logger): ProxyPacing {
  const pacer = new Pacer(settings.now, settings.sleep, {
    table: endpointTable(settings.auth.endpointLimits),
    persistMinMs: store.pacing?.staleMs ?? 60_000,
  });
  // one configuration, one username: the KV record has one key, whatever the id
  const share = new PacingShare(store, pacer, async () => "worker", logger);
  let readAt = Number.NEGATIVE_INFINITY;
  return {
    async admit(path, signal) {
      const now = settings.now();
      if (now - readAt >= settings.recordCacheMs) {
        readAt = now;
        await share.load();
      }
      return withOwnWakeUps(pacer, pacer.admit("request", { path, signal }));
    },
    observe(response) {
      if (response.status === 429) {
        const ms = pacer.penalize(parseRetryAfter(response.headers.get("retry-after"), settings.now()));
        logger.warn({ step: "request", retryAfterMs: ms }, "ibauth: IBKR rate-limited the proxy; pausing it");
      } else if (response.ok) pacer.settle();
    },
  };
}

/** How often a request waiting for its turn has the pacer look again. */
const WAKE_UP_MS = 10;

/**
 * workerd cancels a request's timers when the request ends, and the pacer's wake-up timer belongs to
 * whichever request happened to arm it: a request still waiting for its turn then waits for ever (and the
 * runtime cancels it as hung). So each waiting request wakes the pacer on its own timer until its turn
 * comes. hold() of a settled promise is the pacer's public "look again" (its end pumps the queue). A real
 * timer, not settings.sleep: an instant test sleep would spin here without yielding.
 */
function withOwnWakeUps<T>(pacer: Pacer, turn: Promise<T>): Promise<T> {
  let waiting = true;
  const settled = turn.finally(() => {
    waiting = false;
  });
  void (async () => {
    while (waiting) {
      await new Promise((resolve) => setTimeout(resolve, WAKE_UP_MS));
      if (waiting) pacer.hold(Promise.resolve());
    }
  })();
  return settled;
}

/** A request refused during a known penalty: 429 with Retry-After and when sending resumes; nothing went to IBKR. */
export function pausedAnswer(error: unknown): Response | undefined {
  if (!isIbauthError(error) || error.code !== "ERR_RATE_LIMITED") return undefined;
  const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 0) / 1000));
  return problem(429, error.message, { hint: error.hint }, { "retry-after": String(seconds) });
}
