import { originOf, type ResolvedConfig } from "./config";
import { isIbauthError } from "./errors";
import type { FlowContext } from "./flow";
import { createTransport, type Http } from "./http";
import type { SessionKey } from "./mechanism";
import { Pacer } from "./pacing";
import { type PacingShare, sharedPacing } from "./pacing-share";
import { Redactor } from "./redact";
import type { AuthState, AuthStatus, BrokerageStatus, TickleResult, ValidateResult } from "./types";

/**
 * What the parts of one session's lifecycle share (IBAuth, StoreSync, Healer): the configuration, the
 * HTTP context, the session key and brokerage session, and the bookkeeping behind status(): state, last
 * error, counters. Internal to the core; never exported, never logged.
 */
export class SessionState {
  readonly http: Http;
  readonly flow: FlowContext;
  readonly pacing: PacingShare;
  readonly counters: AuthStatus["counters"] = {
    accessTokens: 0,
    bearers: 0,
    inits: 0,
    tickles: 0,
    heals: 0,
    rateLimited: 0,
  };
  /** The session key: an SSO bearer (OAuth 2.0) or a live session token (OAuth 1.0a). */
  key: SessionKey | undefined;
  brokerageInitAt: number | undefined;
  brokerage: BrokerageStatus | undefined;
  /** Bumped whenever the session key or the brokerage session is replaced: a request sent before a bump is replayed, not healed again. */
  epoch = 0;
  lastTickle: { at: number; epoch: number; result: TickleResult } | undefined;
  lastValidate: { at: number; epoch: number; result: ValidateResult } | undefined;
  readonly #secrets = new Redactor();
  readonly #flights = new Map<string, Promise<unknown>>();
  #state: AuthState = "idle";
  #lastError: AuthStatus["lastError"];

  /** `owner` names the stored records this session reads and writes (see StoreSync). */
  constructor(
    readonly cfg: ResolvedConfig,
    owner: () => Promise<string>,
  ) {
    // IBKR's error text may echo the client id or the username (in its own letter case): both are secrets.
    this.remember(cfg.clientId);
    this.remember(cfg.credential);
    if (typeof cfg.privateKey === "string") this.remember(cfg.privateKey);
    const { pacer, share } = sharedPacing(cfg, owner);
    this.pacing = share;
    this.http = {
      transport: createTransport(cfg.fetch),
      userAgent: cfg.userAgent,
      timeoutMs: cfg.timeoutMs,
      logger: cfg.logger,
      now: cfg.now,
      sleep: cfg.sleep,
      retryAttempts: cfg.retryAttempts,
      retryBaseDelayMs: cfg.retryBaseDelayMs,
      pacer,
      ipPacer: new Pacer(cfg.now, cfg.sleep),
      redact: (text) => this.redact(text),
    };
    this.flow = {
      http: this.http,
      get origin() {
        return originOf(cfg);
      },
      remember: (secret) => this.remember(secret),
    };
  }

  get state(): AuthState {
    return this.#state;
  }

  get lastError(): AuthStatus["lastError"] {
    return this.#lastError;
  }

  remember(secret: string): void {
    this.#secrets.add(secret);
  }

  redact(text: string): string {
    return this.#secrets.redact(text);
  }

  /** One promise per key: concurrent callers share the work in flight. */
  once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const inFlight = this.#flights.get(key);
    if (inFlight) return inFlight as Promise<T>;
    const p = fn().finally(() => this.#flights.delete(key));
    this.#flights.set(key, p);
    return p;
  }

  inFlight(key: string): boolean {
    return this.#flights.has(key);
  }

  /** Runs a step and records its failure in status(). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      await this.pacing.flushed(); // a 429's penalty reaches the store before the caller (a CLI) exits
      throw this.fail(e);
    }
  }

  /**
   * Records a failure in status(). It is logged at debug only: the caller gets the error itself, and the
   * move to "degraded" is logged once at info with its code and step.
   */
  fail(e: unknown): unknown {
    if (isIbauthError(e)) {
      if (e.code === "ERR_RATE_LIMITED") this.counters.rateLimited++;
      this.#lastError = {
        code: e.code,
        step: e.step,
        message: e.message,
        at: this.cfg.now(),
        ...(e.status === undefined ? {} : { status: e.status }),
        ...(e.hint ? { hint: e.hint } : {}),
      };
      this.cfg.logger.debug({ step: e.step, code: e.code, status: e.status }, e.message);
    }
    if (this.#state !== "closed") this.setState("degraded");
    return e;
  }

  setState(state: AuthState): void {
    if (state === this.#state) return;
    const from = this.#state;
    this.#state = state;
    if (state === "connected") this.#lastError = undefined;
    const cause =
      state === "degraded" && this.#lastError
        ? { code: this.#lastError.code, step: this.#lastError.step }
        : {};
    this.cfg.logger.info({ from, to: state, ...cause }, `session ${state}`);
  }

  forgetSession(): void {
    this.key = undefined;
    this.brokerageInitAt = undefined;
    this.brokerage = undefined;
    this.lastTickle = undefined;
    this.lastValidate = undefined;
    this.epoch++;
  }
}
