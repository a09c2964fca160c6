import { runOperation } from "./operation";
import { recordOutcome, summarizeError } from "./outcome";
import { json, problem } from "./respond";
import type { Context, Ready } from "./runtime";
import type { WorkerSettings } from "./settings";

/**
 * POST /session/login: resume a paused session and log in now (under the lease) instead of waiting for
 * the next cron tick. With a live session in KV it sends no request at all; a real login passes the
 * login brake (one a minute) first.
 */
export async function login(context: Context, ready: Ready, settings: WorkerSettings): Promise<Response> {
  const op = await runOperation(
    ready.config,
    settings,
    ready.names,
    context.logger,
    (auth) => auth.connect(),
    { brake: true },
  );
  const now = settings.now();
  if (op.leaseHeld?.reason === "brake") {
    const retryAfter = Math.max(1, Math.ceil((op.leaseHeld.heldUntil - now) / 1000));
    return problem(
      429,
      "logged in less than a minute ago: at most one login a minute is made on request",
      { retryAfterMs: retryAfter * 1000 },
      { "retry-after": String(retryAfter) },
    );
  }
  if (op.leaseHeld) {
    const retryAfter = Math.max(1, Math.ceil((op.leaseHeld.heldUntil - now) / 1000));
    return problem(
      409,
      "another isolate is logging in right now",
      { retryAfterMs: retryAfter * 1000 },
      { "retry-after": String(retryAfter) },
    );
  }
  ready.remember(op.record);
  const status = op.auth.status();
  ready.local = { status, at: now };
  await recordOutcome(ready.book, {
    source: "tick",
    status,
    error: op.error,
    paused: op.error ? undefined : false,
    now,
  });
  if (op.error) {
    const error = summarizeError(op.error, now);
    context.logger.error(
      { code: error.code, step: error.step, status: error.status, hint: error.hint },
      `ibauth: login failed: ${error.message}`,
    );
    return json({ ok: false, error }, 502);
  }
  context.logger.info({ state: status.state }, "ibauth: logged in by operator");
  return json({ ok: true, status });
}

/**
 * POST /session/logout: end the IBKR session, delete the record and pause the cron, so that the
 * username is free for TWS or the mobile app until POST /session/login.
 */
export async function logout(context: Context, ready: Ready, settings: WorkerSettings): Promise<Response> {
  let ibkrError: unknown;
  const op = await runOperation(ready.config, settings, ready.names, context.logger, async (auth, store) => {
    try {
      await auth.logout();
    } catch (error) {
      ibkrError = error; // the session may already be dead: forget it anyway
    }
    await store.delete();
  });
  const now = settings.now();
  ready.remember(undefined);
  const status = op.auth.status();
  ready.local = { status, at: now };
  await recordOutcome(ready.book, {
    source: "tick",
    status: { ...status, state: "closed" },
    paused: true,
    now,
  });
  const warning = ibkrError ?? op.error;
  context.logger.info(
    { state: "paused" },
    "ibauth: logged out by operator; the cron stays idle until POST /session/login",
  );
  return json({
    ok: true,
    paused: true,
    ...(warning !== undefined && { warning: summarizeError(warning, now) }),
  });
}
