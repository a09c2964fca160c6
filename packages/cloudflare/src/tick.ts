import { isIbauthError } from "@ibauth/core";
import { runOperation } from "./operation";
import { ipMismatchNote, ipMismatchSuspected, recordOutcome, summarizeError } from "./outcome";
import type { Context } from "./runtime";
import type { WorkerSettings } from "./settings";

/**
 * The cron step, and the only place that logs in on its own: load the record from KV, tickle, heal or
 * log in as the core decides, write the record if it changed, and note the outcome for /health.
 * Never throws: a failing tick is logged and shown in /health, and the next cron tick tries again.
 */
export async function scheduledTick(context: Context, settings: WorkerSettings): Promise<void> {
  const { logger, ready } = context;
  if (!ready) {
    const problems = context.loaded.ok ? [] : context.loaded.problems;
    logger.error(
      { problems },
      "ibauth: configuration incomplete, not keeping an IBKR session; see GET /health",
    );
    return;
  }
  const stored = await ready.book.read();
  if (stored?.paused) {
    logger.info(
      { state: "paused" },
      "ibauth: session paused by POST /session/logout; POST /session/login resumes it",
    );
    return;
  }
  const started = settings.now();
  const op = await runOperation(ready.config, settings, ready.names, logger, (auth) => auth.tick());
  const now = settings.now();
  if (op.leaseHeld) {
    logger.info(
      { heldUntil: op.leaseHeld.heldUntil },
      "ibauth: another isolate is logging in; skipping this tick",
    );
    return;
  }
  ready.remember(op.record);
  const status = op.auth.status();
  ready.local = { status, at: now };
  const status401 = isIbauthError(op.error) ? op.error.status : undefined;
  const mismatch = op.error && ipMismatchSuspected(status401, op.record, now, settings.freshBearerMs);
  const ipMismatch = mismatch ? ipMismatchNote("tick", op.record, now) : undefined;
  await recordOutcome(ready.book, { source: "tick", status, error: op.error, ipMismatch, now });
  if (op.error) {
    const summary = summarizeError(op.error, now);
    logger.error(
      {
        code: summary.code,
        step: summary.step,
        status: summary.status,
        hint: ipMismatch?.hint ?? summary.hint,
        ipMismatch: !!ipMismatch,
      },
      `ibauth: keepalive tick failed: ${summary.message}`,
    );
  } else {
    // A plain keepalive is debug noise once a minute; a login or heal is worth an info line.
    const level = op.value?.action === "tickled" ? "debug" : "info";
    logger[level]({ action: op.value?.action, state: status.state, ms: now - started }, "ibauth: tick");
  }
}
