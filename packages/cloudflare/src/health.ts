import type { SessionRecord } from "@ibauth/core";
import { json } from "./respond";
import type { Context, Ready } from "./runtime";
import type { WorkerSettings } from "./settings";
import type { StatusRecord } from "./status-record";

/** How late the keepalive may be before /health calls it stale: two missed cron ticks and some slack. */
const TICK_GRACE_MS = 3 * 60_000;
const HEALTH_CACHE_MS = 5_000;

const age = (now: number, at: number | undefined) => (at === undefined ? undefined : Math.max(0, now - at));

function currentState(
  record: SessionRecord | undefined,
  stored: StatusRecord | undefined,
  ready: Ready,
): string {
  if (stored?.paused) return "paused";
  if (!record?.bearer) return "no-session";
  // This isolate's own last tick is fresher than KV, which is written on change only.
  const { status, at } = ready.local;
  if (status && (at ?? 0) >= (stored?.writtenAt ?? 0)) return status.state;
  return stored?.state ?? "unknown";
}

/**
 * GET /health, unauthenticated: what an operator or uptime check needs, with no secret in it (no token,
 * no username, no setting values). 200 when the session is held and ticking, 503 otherwise, with the
 * reasons spelled out.
 */
export async function health(context: Context, settings: WorkerSettings, method: string): Promise<Response> {
  const now = settings.now();
  const respond = (body: Record<string, unknown>, ok: boolean) => {
    const response = json({ ok, ...body, now }, ok ? 200 : 503);
    return method === "HEAD"
      ? new Response(null, { status: response.status, headers: response.headers })
      : response;
  };
  const { ready } = context;
  if (!ready) {
    const problems = context.loaded.ok ? [] : context.loaded.problems;
    return respond(
      {
        state: "misconfigured",
        reasons: problems.map((p) => `${p.setting}: ${p.problem}`),
        config: { ok: false, problems },
      },
      false,
    );
  }
  // Cached reads: /health is public, and every uncached call would cost two KV reads (billed, and limited
  // to 100,000 a day on the free plan).
  let record: SessionRecord | undefined;
  let stored: StatusRecord | undefined;
  try {
    [record, stored] = await Promise.all([ready.record(), ready.book.read(HEALTH_CACHE_MS)]);
  } catch {
    return respond(
      { state: "unknown", reasons: ["KV read failed: the IBAUTH_SESSIONS namespace is unreachable"] },
      false,
    );
  }
  const local = ready.local.status;
  const lastTickleAt = Math.max(stored?.lastTickleAt ?? 0, local?.lastTickleAt ?? 0) || undefined;
  const state = currentState(record, stored, ready);

  const reasons: string[] = [];
  if (stored?.paused) reasons.push("paused by POST /session/logout: POST /session/login resumes");
  else if (!record?.bearer)
    reasons.push("no IBKR session in KV yet: the cron tick logs in (or POST /session/login)");
  else if (state !== "connected") reasons.push(`session state is ${state}`);
  if (stored?.ipMismatch) reasons.push(`IP mismatch suspected: ${stored.ipMismatch.hint}`);
  const lastError = stored?.lastError;
  if (lastError && lastError.at > (stored?.lastOkAt ?? 0))
    reasons.push(`last attempt failed at ${lastError.step}: ${lastError.code}`);
  const staleAfter = settings.heartbeatMs > 0 ? settings.heartbeatMs + TICK_GRACE_MS : undefined;
  const lastAliveAt = Math.max(lastTickleAt ?? 0, stored?.lastOkAt ?? 0) || undefined;
  if (
    record?.bearer &&
    !stored?.paused &&
    staleAfter !== undefined &&
    (lastAliveAt === undefined || now - lastAliveAt > staleAfter)
  ) {
    reasons.push('no recent keepalive recorded: is the cron trigger (crons = ["* * * * *"]) deployed?');
  }

  return respond(
    {
      state,
      reasons,
      config: { ok: true, problems: [] },
      session: record
        ? {
            present: true,
            ageMs: age(now, record.updatedAt),
            accessTokenExpiresInMs: record.accessToken ? record.accessToken.expiresAt - now : undefined,
            bearerAgeMs: age(now, record.bearer?.createdAt),
            brokerageInitAgeMs: age(now, record.brokerageInitAt),
            ip: record.bearer?.ip || undefined, // OAuth 1.0a: the LST claims no IP
            alternativeIps: record.bearer?.alternativeIps,
          }
        : { present: false },
      keepalive: {
        lastTickleAt,
        lastTickleAgeMs: age(now, lastTickleAt),
        ssoExpiresMs: local?.ssoExpiresMs ?? stored?.ssoExpiresMs,
        // lastTickleAt reaches KV on a change or a heartbeat only, to keep KV writes to a handful a day.
        heartbeatMs: settings.heartbeatMs,
      },
      brokerage: local?.brokerage ?? stored?.brokerage,
      lastError: lastError ?? null,
      lastOkAt: stored?.lastOkAt,
      ipMismatch: stored?.ipMismatch ?? null,
    },
    reasons.length === 0,
  );
}
