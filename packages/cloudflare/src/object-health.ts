import type { AuthStatus, SessionRecord } from "@ibauth/core";
import type { ConfigProblem } from "./config";

/** What the object knows about its session, from memory: it is the only holder, so nothing is stale. */
export interface HealthView {
  label: string;
  paused: boolean;
  penaltyUntil: number;
  problems: ConfigProblem[];
  /** Undefined until the object first needed its IBAuth (after an eviction: until the next alarm or call). */
  status: AuthStatus | undefined;
  /** The stored session (read when the object is configured and not paused). */
  record: SessionRecord | undefined;
  /** ms until the armed alarm (runtime clock), or null when none is armed. */
  alarmInMs: number | null;
  keepaliveMs: number;
  failures: number;
  now: number;
}

const age = (now: number, at: number | undefined) => (at === undefined ? undefined : Math.max(0, now - at));
/** How late the alarm may run before /health calls it stuck: a missed alarm and some slack. */
const graceMs = (keepaliveMs: number) => keepaliveMs + 60_000;

/**
 * One user's /health: the state, why it is not healthy, and when the next keepalive runs. No token,
 * no username, no setting value: labels and states only.
 */
export function objectHealth(view: HealthView): Record<string, unknown> & { ok: boolean } {
  const { now, status, record } = view;
  const stored = record?.bearer !== undefined && record.brokerageInitAt !== undefined;
  const reasons: string[] = [];
  // After a restart the object has no IBAuth in memory until its next alarm or call: the record speaks.
  let state: string = status?.state ?? (stored ? "connected" : "idle");
  if (view.problems.length) {
    state = "misconfigured";
    reasons.push(...view.problems.map((p) => `${p.setting}: ${p.problem}`));
  } else if (view.paused) {
    state = "paused";
    reasons.push("paused by POST /session/logout: POST /session/login resumes");
  } else if (view.penaltyUntil > now) {
    state = "rate-limited";
    reasons.push(
      `IBKR rate-limited this user until ${new Date(view.penaltyUntil).toISOString()}; nothing is sent`,
    );
  } else if (!stored) {
    reasons.push("no IBKR session yet: the alarm logs in (or POST /session/login)");
  } else if (status && status.state !== "connected") {
    reasons.push(`session state is ${status.state}`);
  }
  const lastError = status?.lastError;
  if (lastError && !reasons.length)
    reasons.push(`last attempt failed at ${lastError.step}: ${lastError.code}`);
  const lastTickleAt = status?.lastTickleAt;
  if (!reasons.length && stored) {
    if (view.alarmInMs === null)
      reasons.push("no keepalive alarm armed: any call or the cron watchdog arms it again");
    else if (view.alarmInMs < -graceMs(view.keepaliveMs))
      reasons.push("the keepalive alarm is overdue (see the Worker's logs)");
  }
  return {
    ok: reasons.length === 0,
    user: view.label,
    state,
    reasons,
    config: { ok: view.problems.length === 0, problems: view.problems },
    session: record?.bearer
      ? {
          present: true,
          bearerAgeMs: age(now, record.bearer.createdAt),
          brokerageInitAgeMs: age(now, record.brokerageInitAt),
          accessTokenExpiresInMs: record.accessToken ? record.accessToken.expiresAt - now : undefined,
          ip: record.bearer.ip || undefined, // OAuth 1.0a: the LST claims no IP
        }
      : { present: false },
    keepalive: {
      lastTickleAt,
      lastTickleAgeMs: age(now, lastTickleAt),
      ssoExpiresMs: status?.ssoExpiresMs,
      nextAlarmInMs: view.alarmInMs,
      failures: view.failures,
    },
    brokerage: status?.brokerage,
    rateLimitedUntil: view.penaltyUntil > now ? view.penaltyUntil : undefined,
    lastError: lastError ?? null,
    counters: status?.counters,
    now,
  };
}
