import { type Clock, nextDailyReset } from "./clock.js";
import { randomHex, randomToken, userIdFor } from "./random.js";

export interface AccessTokenRecord {
  clientId: string;
  scopes: string[];
  /** ms */
  expiresAt: number;
}

/** Why a session ended; never reported to callers (IBKR just answers 401), only in the state snapshot. */
export type EndReason =
  | "logout"
  | "idle"
  | "max-age"
  | "daily-reset"
  | "expired-bearer"
  | "sso-jwt-expired"
  | "revoked"
  | "reset";

/** One SSO session, created by sso-sessions and addressed by its bearer token. */
export interface SsoSession {
  /** 32 hex, the tickle `session` (the WebSocket `api` cookie): secret, never in the state snapshot. */
  id: string;
  /** Short public label for logs and the state snapshot. */
  label: string;
  bearer: string;
  clientId: string;
  username: string;
  userId: number;
  ips: Set<string>;
  createdAt: number;
  lastActivity: number;
  hmds: boolean;
  portfolioPrimed: boolean;
  /** The `exp` of the sso-sessions JWT that created it (ms): the session ends there. */
  expiresAt?: number;
  /** When this session last took the brokerage session (ms). */
  bridgeAt: number;
  ended?: EndReason;
}

/** Who holds a username's one brokerage session: one of our sessions (its id), or another platform. */
type Holder = { session: string } | { external: true };

export interface LifetimeOptions {
  idleTimeoutMs: number;
  maxSessionMs: number;
  dailyResetHourUtc: number | null;
}

/** All mutable emulator state: tokens, sessions, brokerage ownership. Lifetimes are evaluated lazily. */
export class EmulatorState {
  readonly accessTokens = new Map<string, AccessTokenRecord>();
  readonly sessions = new Map<string, SsoSession>(); // by bearer
  readonly holders = new Map<string, Holder>(); // by username
  #labels = 0;

  constructor(
    private readonly clock: Clock,
    private readonly life: LifetimeOptions,
  ) {}

  clear(): void {
    this.accessTokens.clear();
    this.sessions.clear();
    this.holders.clear();
  }

  /** The session's end reason at the current time, marking it ended. */
  check(s: SsoSession): EndReason | undefined {
    if (s.ended) return s.ended;
    const now = this.clock.now();
    if (now - s.lastActivity >= this.life.idleTimeoutMs) s.ended = "idle";
    else if (now - s.createdAt >= this.life.maxSessionMs) s.ended = "max-age";
    else if (s.expiresAt !== undefined && now >= s.expiresAt) s.ended = "sso-jwt-expired";
    else if (
      this.life.dailyResetHourUtc !== null &&
      now >= nextDailyReset(s.createdAt, this.life.dailyResetHourUtc)
    )
      s.ended = "daily-reset";
    return s.ended;
  }

  /** ms until the session ends unless it sees activity: the tickle `ssoExpires` / validate `EXPIRES`. */
  msLeft(s: SsoSession): number {
    const now = this.clock.now();
    let left = Math.min(
      this.life.idleTimeoutMs - (now - s.lastActivity),
      this.life.maxSessionMs - (now - s.createdAt),
      (s.expiresAt ?? Number.POSITIVE_INFINITY) - now,
    );
    if (this.life.dailyResetHourUtc !== null)
      left = Math.min(left, nextDailyReset(s.createdAt, this.life.dailyResetHourUtc) - now);
    return Math.max(0, left);
  }

  live(bearer: string): SsoSession | undefined {
    const s = this.sessions.get(bearer);
    return s && !this.check(s) ? s : undefined;
  }

  createSession(clientId: string, username: string, ips: Set<string>, revokeEarlier: boolean): SsoSession {
    this.prune();
    if (revokeEarlier)
      for (const s of this.sessions.values())
        if (s.username === username && s.clientId === clientId && !s.ended) s.ended = "revoked";
    const now = this.clock.now();
    const s: SsoSession = {
      id: randomHex(16),
      label: `session-${++this.#labels}`,
      bearer: randomToken(32),
      clientId,
      username,
      userId: userIdFor(username),
      ips,
      createdAt: now,
      lastActivity: now,
      hmds: false,
      portfolioPrimed: false,
      bridgeAt: 0,
    };
    this.sessions.set(s.bearer, s);
    return s;
  }

  /** Forget ended sessions and expired access tokens, so a long soak does not grow memory. */
  prune(): void {
    for (const [k, s] of this.sessions) if (this.check(s)) this.sessions.delete(k);
    const now = this.clock.now();
    for (const [k, t] of this.accessTokens) if (t.expiresAt <= now) this.accessTokens.delete(k);
  }

  /** Does this session hold its username's brokerage session? */
  holds(s: SsoSession): boolean {
    const h = this.holders.get(s.username);
    return !!h && "session" in h && h.session === s.id;
  }

  /** Does another live session or another platform hold this username's brokerage session? */
  competingFor(s: SsoSession): boolean {
    const h = this.holders.get(s.username);
    if (!h) return false;
    if ("external" in h) return true;
    if (h.session === s.id) return false;
    const other = [...this.sessions.values()].find((o) => o.id === h.session);
    if (other && !this.check(other)) return true;
    this.holders.delete(s.username); // the holder is gone: its brokerage session went with it
    return false;
  }

  takeBrokerage(s: SsoSession): void {
    s.bridgeAt = this.clock.now();
    this.holders.set(s.username, { session: s.id });
  }

  release(s: SsoSession): void {
    if (this.holds(s)) this.holders.delete(s.username);
  }
}
