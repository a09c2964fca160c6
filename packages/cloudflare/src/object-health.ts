import type { AuthStatus } from "@ibauth/core";
import type { ConfigProblem } from "./config";

/** What the object knows about its session, from memory: it is the only holder, so nothing is stale. */
export interface HealthView {
  label: string;
  paused: boolean;
  penaltyUntil: number;
  problems: ConfigProblem[];
  /** Undefined until the object first needed its IBAuth (after an eviction: until the next alarm or call). */
  status: AuthStatus | undefined;
  nextTickAt: number | undefined;
  keepaliveMs: number;
  failures: number;
  now: number;
}

const age = (now: number, at: number | undefined) => (at === undefined ? undefined : Math.max(0, now - at));
/** How late the keepalive may be before /health calls it stale: two missed alarms and some slack. */
const graceMs = (keepaliveMs: number) => 2 * keepaliveMs + 60_000;

/**
 * One user's /health: the state, why it is not healthy, and when the next keepalive runs. No token,
 * no username, no setting value: labels and states only.
 */
export function objectHealth(view: HealthView): Record<string, unknown> & { ok: boolean } {
  const { now, status } = view;
  const reasons: string[] = [];
  let state: string = status?.state ?? "idle";
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
  } else if (!status?.bearerCreatedAt) {
    reasons.push("no IBKR session yet: the alarm logs in (or POST /session/login)");
  } else if (status.state !== "connected") {
    reasons.push(`session state is ${status.state}`);
  }
  const lastError = status?.lastError;
  if (lastError && !reasons.length)
    reasons.push(`last attempt failed at ${lastError.step}: ${lastError.code}`);
  const lastTickleAt = status?.lastTickleAt;
  if (
    !reasons.length &&
    status?.bearerCreatedAt !== undefined &&
    now - Math.max(lastTickleAt ?? 0, status.bearerCreatedAt) > graceMs(view.keepaliveMs)
  ) {
    reasons.push("no keepalive recently: the alarm is late (see the Worker's logs)");
  }
  return {
    ok: reasons.length === 0,
    user: view.label,
    state,
    reasons,
    config: { ok: view.problems.length === 0, problems: view.problems },
    session: status?.bearerCreatedAt
      ? {
          present: true,
          bearerAgeMs: age(now, status.bearerCreatedAt),
          accessTokenExpiresInMs:
            status.accessTokenExpiresAt === undefined ? undefined : status.accessTokenExpiresAt - now,
          ip: status.ip,
        }
      : { present: false },
    keepalive: {
      lastTickleAt,
      lastTickleAgeMs: age(now, lastTickleAt),
      ssoExpiresMs: status?.ssoExpiresMs,
      nextTickInMs: view.nextTickAt === undefined ? undefined : Math.max(0, view.nextTickAt - now),
      failures: view.failures,
    },
    brokerage: status?.brokerage,
    rateLimitedUntil: view.penaltyUntil > now ? view.penaltyUntil : undefined,
    lastError: lastError ?? null,
    counters: status?.counters,
    now,
  };
}
