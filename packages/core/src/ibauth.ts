import { originOf, type ResolvedConfig, resolveConfig, validateDomain } from "./config";
import { IbauthError, isIbauthError } from "./errors";
import * as flow from "./flow";
import { createTransport, errorFromResponse, type Http, isRedirect, refusedSession, send } from "./http";
import type { Mechanism, MechanismHost, SessionKey } from "./mechanism";
import { isNoBridgeAnswer } from "./no-bridge";
import { OAuth1Mechanism } from "./oauth1/mechanism";
import { OAuth2Mechanism } from "./oauth2";
import { Pacer } from "./pacing";
import { PacingShare } from "./pacing-share";
import { endpointTable } from "./pacing-table";
import { Redactor } from "./redact";
import type { SessionRecord } from "./store";
import { recordOrigin, usableRecord } from "./stored-record";
import type {
  AuthState,
  AuthStatus,
  BrokerageStatus,
  IBAuthOAuth1Options,
  IBAuthOptions,
  TickleResult,
  TickOutcome,
  ValidateResult,
} from "./types";

/** IBKR allows /tickle once a second and /sso/validate once a minute (protocol notes §4). */
const TICKLE_INTERVAL_MS = 1000;
const VALIDATE_INTERVAL_MS = 60_000;
/** IBKR advises waiting 1 s, 3 s or "3-5 s" after ssodh/init before /iserver calls (protocol notes §3.4). */
const BRIDGE_SETTLE_MS = 3000;
/** A 401 on a request sent this soon after minting the bearer points at the IP claim, not at expiry. */
const FRESH_BEARER_MS = 30_000;

/** The session key: an SSO bearer (OAuth 2.0) or a live session token (OAuth 1.0a). */
type Bearer = SessionKey;
type SessionProblem = "unauthorized" | "no-bridge";

const isLoginRedirect = (res: Response) =>
  res.type === "opaqueredirect" || /\/sso\/login/i.test(res.headers.get("location") ?? "");

/**
 * An IBKR Web API session: OAuth 2.0 or OAuth 1.0a login (a {@link Mechanism}), the brokerage session,
 * keepalive and self-healing.
 * One instance per IBKR username; share it between callers (every method is safe to call concurrently).
 */
export class IBAuth {
  readonly #cfg: ResolvedConfig;
  readonly #http: Http;
  readonly #flow: flow.FlowContext;
  readonly #secrets = new Redactor();
  readonly #flights = new Map<string, Promise<unknown>>();
  readonly #pacing: PacingShare;
  readonly #mech: Mechanism;
  #owner: Promise<string> | undefined;
  #loaded = false;
  #lastSaved: string | undefined;
  /** Store operations whose failure was already warned about (warned again after one succeeds). */
  #storeWarned = new Set<"read" | "write" | "delete">();
  #bearer: Bearer | undefined;
  #brokerageInitAt: number | undefined;
  #brokerage: BrokerageStatus | undefined;
  /** Bumped whenever the bearer or the brokerage session is replaced: a request sent before a bump is replayed, not healed again. */
  #epoch = 0;
  #state: AuthState = "idle";
  #lastError: AuthStatus["lastError"];
  #lastTickle: { at: number; epoch: number; result: TickleResult } | undefined;
  #lastValidate: { at: number; epoch: number; result: ValidateResult } | undefined;
  #aliveCheckedEpoch = -1;
  readonly #counters: AuthStatus["counters"] = {
    accessTokens: 0,
    bearers: 0,
    inits: 0,
    tickles: 0,
    heals: 0,
    rateLimited: 0,
  };

  constructor(options: IBAuthOptions | IBAuthOAuth1Options) {
    this.#cfg = resolveConfig(options);
    const cfg = this.#cfg;
    // IBKR's error text may echo the client id or the username (in its own letter case): both are secrets.
    this.#remember(cfg.clientId);
    this.#remember(cfg.credential);
    if (typeof cfg.privateKey === "string") this.#remember(cfg.privateKey);
    this.#http = {
      transport: createTransport(cfg.fetch),
      userAgent: cfg.userAgent,
      timeoutMs: cfg.timeoutMs,
      logger: cfg.logger,
      now: cfg.now,
      sleep: cfg.sleep,
      retryAttempts: cfg.retryAttempts,
      retryBaseDelayMs: cfg.retryBaseDelayMs,
      pacer: new Pacer(cfg.now, cfg.sleep, {
        table: endpointTable(cfg.endpointLimits),
        // rows shorter than the store's staleness are not worth sharing (KV: 60 s, so only validate)
        persistMinMs: Math.max(1000, cfg.store.pacing?.staleMs ?? 0),
      }),
      ipPacer: new Pacer(cfg.now, cfg.sleep),
      redact: (text) => this.#redact(text),
    };
    this.#pacing = new PacingShare(cfg.store, this.#http.pacer, () => this.#owner$(), cfg.logger);
    const self = this;
    this.#flow = {
      http: this.#http,
      get origin() {
        return originOf(self.#cfg);
      },
      remember: (secret) => this.#remember(secret),
    };
    const host: MechanismHost = {
      flow: this.#flow,
      once: (key, fn) => this.#once(key, fn),
      save: () => this.#save(),
      fail: (e) => void this.#fail(e),
      counters: this.#counters,
    };
    this.#mech = cfg.oauth1 ? new OAuth1Mechanism(cfg, host) : new OAuth2Mechanism(cfg, host);
  }

  /** The IBKR host; settable to `api.ibkr.com` or `1.api.ibkr.com` … `7.api.ibkr.com` (ignored while `baseUrl` is set). */
  get domain(): string {
    return this.#cfg.domain;
  }

  set domain(value: string) {
    this.#cfg.domain = validateDomain(value);
  }

  // ---- the individual steps (each does its step; missing prerequisites are fetched first) ----

  /** A valid OAuth access token: reused while it has more than `refreshMarginMs` left, else a new one. */
  async getAccessToken(): Promise<string> {
    if (!(this.#mech instanceof OAuth2Mechanism))
      throw new IbauthError("OAuth 1.0a has no access-token step: the live session token replaces it", {
        code: "ERR_CONFIG",
        step: "token",
      });
    await this.#load();
    return (await this.#mech.accessToken()).token;
  }

  /**
   * Obtains a new session key: the SSO bearer (OAuth 2.0: access token and public IP first, in parallel)
   * or the live session token (OAuth 1.0a, base64). The brokerage session must be opened again after it.
   */
  async getBearerToken(): Promise<string> {
    await this.#load();
    return (await this.#run(() => this.#newBearer("requested"))).token;
  }

  /** ssodh/init: opens the brokerage (/iserver) session for the current bearer (minting one if there is none). */
  async ssodhInit(): Promise<BrokerageStatus> {
    const bearer = await this.#ensureBearer();
    return this.#run(() => this.#init(bearer));
  }

  /** sso/validate. IBKR allows it once a minute: a second call within the minute gets the same answer. */
  async validateSso(): Promise<ValidateResult> {
    const bearer = await this.#ensureBearer();
    return this.#run(() => this.#validate(bearer));
  }

  /** sso/validate at most once a minute per bearer: a second call within the minute gets the same answer. */
  #validate(bearer: Bearer): Promise<ValidateResult> {
    const last = this.#lastValidate;
    if (last && last.epoch === this.#epoch && this.#cfg.now() - last.at < VALIDATE_INTERVAL_MS)
      return Promise.resolve(last.result);
    return this.#once("validate", async () => {
      const epoch = this.#epoch;
      const result = await flow.validateSso(this.#flow, this.#authFor(bearer));
      this.#lastValidate = { at: this.#cfg.now(), epoch, result };
      await this.#save();
      return result;
    });
  }

  /** /tickle, without healing: use `tick()` to keep a session alive. Calls within a second share one answer. */
  async tickle(): Promise<TickleResult> {
    await this.#ensureBearer();
    return this.#run(() => this.#tickleShared());
  }

  /** Ends the session at IBKR and forgets it here and in the store. */
  async logout(): Promise<void> {
    await this.#load();
    const bearer = this.#bearer;
    this.#forgetSession();
    this.#setState("closed");
    try {
      if (bearer) await flow.logout(this.#flow, this.#authFor(bearer));
    } catch (e) {
      // A dead session is as logged out as it gets.
      if (!refusedSession(e)) throw this.#fail(e);
    } finally {
      await this.#storeDelete();
    }
    this.#cfg.logger.info({ step: "logout" }, "logged out");
  }

  // ---- the high level ----

  /** Everything needed for /iserver calls, once: resumes a stored session with zero requests, else logs in (3 round trips). */
  async connect(): Promise<AuthStatus> {
    await this.#ensureConnected();
    return this.status();
  }

  /** connect() without the snapshot: the hot path of every auth.fetch. */
  #ensureConnected(): Promise<void> {
    const b = this.#bearer;
    if (this.#state === "connected" && b && this.#brokerageInitAt !== undefined && !this.#mech.expiring(b))
      return Promise.resolve();
    return this.#once("connect", async () => {
      await this.#load();
      if (this.#bearer && this.#mech.expiring(this.#bearer)) {
        this.#setState("connecting");
        await this.#run(() => this.#relogin("the session key expires"));
      } else if (!this.#bearer || this.#brokerageInitAt === undefined) {
        this.#setState("connecting");
        await this.#underLoginLock(async () => {
          // another process on this store may have logged in while this one waited for the lock
          if (await this.#adoptNewerFromStore()) return;
          await this.#run(async () => this.#initOrRelogin(this.#bearer ?? (await this.#newBearer("login"))));
        });
      }
      this.#setState("connected");
    });
  }

  /**
   * An authenticated Web API call. `path` is relative to the origin (e.g. `/v1/api/portfolio/accounts`).
   * When IBKR answers 401 or "no bridge", the session is healed once for all concurrent callers and the
   * request replayed once. Other answers, errors included, come back as they are; 429 throws ERR_RATE_LIMITED.
   * A streamed body is buffered first (IBKR needs a Content-Length, and a replay needs the body twice).
   */
  async fetch(path: string, options: RequestInit = {}): Promise<Response> {
    const url = this.#urlFor(path);
    const init =
      options.body instanceof ReadableStream
        ? { ...options, body: await new Response(options.body).arrayBuffer() }
        : options;
    await this.#ensureConnected();
    const first = await this.#sendSettled(url, init);
    if (!first.problem) return first.res;
    if ((await this.#heal(first.problem, first.epoch)) === "alive") return first.res;
    const replay = await this.#sendSettled(url, init);
    if (replay.problem === "unauthorized" && this.#bearerIsFresh())
      throw this.#fail(this.#mech.refusal(this.#bearer, replay.res, "request"));
    return replay.res;
  }

  /**
   * One keepalive step, for a timer or a cron trigger (about every 60 s): logs in if needed, refreshes the
   * access token before it expires, tickles, and heals what the tickle reveals. Throws when it cannot heal;
   * the next tick tries again.
   */
  async tick(): Promise<TickOutcome> {
    return this.#once("tick", async () => {
      const loadedBefore = this.#loaded;
      await this.#load();
      if (this.#state === "closed") return { action: "skipped", status: this.status() };
      // another process may have tickled, or met a 429, since this one last looked
      if (loadedBefore) await this.#pacing.load();
      if (await this.#adoptNewerFromStore())
        this.#cfg.logger.info({ step: "tickle" }, "adopted a session another process renewed");
      if (!this.#bearer || this.#brokerageInitAt === undefined) {
        await this.#ensureConnected();
        return { action: "login", status: this.status() };
      }
      await this.#mech.maintain();
      if (this.#mech.expiring(this.#bearer)) {
        await this.#run(() => this.#relogin("the session key expires"));
        this.#setState("connected");
        return { action: "relogin", status: this.status() };
      }
      let result: TickleResult;
      try {
        result = await this.#tickleShared(true);
      } catch (e) {
        if (!refusedSession(e)) throw this.#fail(e);
        await this.#run(() => this.#relogin("tickle refused the bearer"));
        this.#setState("connected");
        return { action: "relogin", status: this.status() };
      }
      if (result.authenticated) {
        this.#setState("connected");
        return { action: "tickled", status: this.status() };
      }
      if (result.competing && !this.#cfg.compete) {
        throw this.#fail(
          new IbauthError("another platform holds the brokerage session", {
            code: "ERR_SESSION",
            step: "tickle",
            hint: "TWS, IBKR Mobile or the portal logged in with this username. Set compete: true to take it back, or use a second username for the API",
          }),
        );
      }
      if (result.competing) {
        this.#cfg.logger.warn(
          { step: "tickle" },
          "another platform took the brokerage session; taking it back (compete: true). A second IBKR username for the API avoids this",
        );
      }
      await this.#run(() => this.#initOrRelogin(this.#bearer as Bearer));
      this.#setState("connected");
      return { action: "reinit", status: this.status() };
    });
  }

  /** A snapshot without secrets: safe to log, print or serve. */
  status(): AuthStatus {
    const t = this.#lastTickle;
    const penalty = this.#http.pacer.penaltyUntil;
    return {
      state: this.#state,
      origin: originOf(this.#cfg),
      domain: this.#cfg.domain,
      ...this.#mech.status(this.#bearer),
      ...(this.#bearer ? { bearerCreatedAt: this.#bearer.createdAt } : {}),

      ...(this.#brokerage ? { brokerage: { ...this.#brokerage } } : {}),
      ...(t ? { lastTickleAt: t.at, ssoExpiresMs: t.result.ssoExpires } : {}),
      ...(penalty > this.#cfg.now() ? { rateLimitedUntil: penalty } : {}),
      ...(this.#lastError ? { lastError: { ...this.#lastError } } : {}),
      counters: { ...this.#counters },
    };
  }

  /** `JSON.stringify(auth)` and `console.log(auth)` show the status, never a secret. */
  toJSON(): AuthStatus {
    return this.status();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `IBAuth ${JSON.stringify(this.status())}`;
  }

  // ---- internals ----

  #remember(secret: string): void {
    this.#secrets.add(secret);
  }

  #redact(text: string): string {
    return this.#secrets.redact(text);
  }

  /** One promise per key: concurrent callers share the work in flight. */
  #once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const inFlight = this.#flights.get(key);
    if (inFlight) return inFlight as Promise<T>;
    const p = fn().finally(() => this.#flights.delete(key));
    this.#flights.set(key, p);
    return p;
  }

  /** Runs a step and records its failure in status(). */
  async #run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      await this.#pacing.flushed(); // a 429's penalty reaches the store before the caller (a CLI) exits
      throw this.#fail(e);
    }
  }

  /**
   * Records a failure in status(). It is logged at debug only: the caller gets the error itself, and the
   * move to "degraded" is logged once at info with its code and step.
   */
  #fail(e: unknown): unknown {
    if (isIbauthError(e)) {
      if (e.code === "ERR_RATE_LIMITED") this.#counters.rateLimited++;
      this.#lastError = {
        code: e.code,
        step: e.step,
        message: e.message,
        at: this.#cfg.now(),
        ...(e.status === undefined ? {} : { status: e.status }),
        ...(e.hint ? { hint: e.hint } : {}),
      };
      this.#cfg.logger.debug({ step: e.step, code: e.code, status: e.status }, e.message);
    }
    if (this.#state !== "closed") this.#setState("degraded");
    return e;
  }

  #setState(state: AuthState): void {
    if (state === this.#state) return;
    const from = this.#state;
    this.#state = state;
    if (state === "connected") this.#lastError = undefined;
    const cause =
      state === "degraded" && this.#lastError
        ? { code: this.#lastError.code, step: this.#lastError.step }
        : {};
    this.#cfg.logger.info({ from, to: state, ...cause }, `session ${state}`);
  }

  #owner$(): Promise<string> {
    this.#owner ??= (async () => {
      const data = new TextEncoder().encode(this.#mech.identity);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
      return Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
    })();
    return this.#owner;
  }

  async #readStore(): Promise<SessionRecord | undefined> {
    let stored: unknown;
    try {
      stored = await this.#cfg.store.get();
      this.#storeWarned.delete("read");
    } catch (e) {
      this.#storeWarnOnce("read", e, "treating it as empty");
      return undefined;
    }
    return usableRecord(stored, await this.#owner$(), {
      store: this.#cfg.store,
      logger: this.#cfg.logger,
      flow: this.#flow,
      mech: this.#mech,
    });
  }

  async #load(): Promise<void> {
    if (this.#loaded) return;
    await this.#once("load", async () => {
      await this.#pacing.load();
      const record = await this.#readStore();
      if (record) this.#adopt(record);
      this.#loaded = true;
    });
  }

  #adopt(record: SessionRecord): void {
    this.#mech.adopt(record);
    if (record.bearer) {
      this.#bearer = record.bearer;
      this.#remember(record.bearer.token);
      this.#brokerageInitAt = record.brokerageInitAt;
      this.#epoch++;
      this.#lastValidate = record.validated && { ...record.validated, epoch: this.#epoch };
      if (this.#state === "idle" && record.brokerageInitAt !== undefined) this.#setState("connected");
    }
    this.#lastSaved = JSON.stringify({ ...record, updatedAt: 0 });
  }

  /** Another process (a second worker, the cron tick) may have renewed the session: use its bearer instead of minting one. */
  async #adoptNewerFromStore(): Promise<boolean> {
    const record = await this.#readStore();
    const mine = this.#bearer;
    if (!record?.bearer || record.brokerageInitAt === undefined) return false;
    if (mine && (record.bearer.token === mine.token || record.bearer.createdAt <= mine.createdAt))
      return false;
    this.#brokerage = undefined;
    this.#adopt(record);
    return true;
  }

  async #save(): Promise<void> {
    const v = this.#lastValidate;
    const record: SessionRecord = {
      v: 1,
      owner: await this.#owner$(),
      origin: recordOrigin(this.#flow.origin),
      ...this.#mech.persisted(),
      ...(this.#bearer ? { bearer: this.#bearer } : {}),
      ...(this.#brokerageInitAt === undefined ? {} : { brokerageInitAt: this.#brokerageInitAt }),
      ...(v && v.epoch === this.#epoch ? { validated: { at: v.at, result: v.result } } : {}),
      updatedAt: 0,
    };
    const text = JSON.stringify(record);
    if (text === this.#lastSaved) return;
    try {
      await this.#cfg.store.set({ ...record, updatedAt: this.#cfg.now() });
      this.#lastSaved = text;
      this.#storeWarned.delete("write");
    } catch (e) {
      this.#storeFailed("write", e);
    }
  }

  async #storeDelete(): Promise<void> {
    this.#lastSaved = undefined;
    try {
      await this.#cfg.store.delete();
    } catch (e) {
      this.#storeFailed("delete", e);
    }
  }

  /** The session itself is fine in memory; only resuming it elsewhere is lost, so this is recorded and warned, not thrown. */
  #storeFailed(what: "write" | "delete", cause: unknown): void {
    this.#fail(
      this.#storeWarnOnce(what, cause, "the session lives in this process only until a write succeeds"),
    );
  }

  /**
   * One warning per kind of store failure until that operation succeeds again. The store's own
   * IbauthError names its path and errno; a foreign error shows only its type.
   */
  #storeWarnOnce(what: "read" | "write" | "delete", cause: unknown, consequence: string): IbauthError {
    // The store's message without its "store: " prefix.
    const detail = isIbauthError(cause) ? `: ${cause.message.replace(`${cause.step}: `, "")}` : "";
    const error = new IbauthError(`the session store refused the ${what}${detail}`, {
      code: "ERR_STORE",
      step: "store",
      cause,
    });
    if (!this.#storeWarned.has(what))
      this.#cfg.logger.warn(
        {
          step: "store",
          code: "ERR_STORE",
          ...(detail ? {} : { error: cause instanceof Error ? cause.name : "unknown" }),
        },
        `${error.message.replace("store: ", "")}; ${consequence}`,
      );
    this.#storeWarned.add(what);
    return error;
  }

  #forgetSession(): void {
    this.#bearer = undefined;
    this.#brokerageInitAt = undefined;
    this.#brokerage = undefined;
    this.#lastTickle = undefined;
    this.#lastValidate = undefined;
    this.#epoch++;
  }

  async #ensureBearer(): Promise<Bearer> {
    await this.#load();
    return this.#bearer ?? this.#run(() => this.#newBearer("login"));
  }

  /** A new session key from the mechanism; the brokerage session of the old one is forgotten. */
  #newBearer(reason: string): Promise<Bearer> {
    return this.#once("bearer", async () => {
      const key = await this.#mech.obtain(reason, this.#bearer);
      this.#forgetSession();
      this.#bearer = key;
      this.#counters.bearers++;
      await this.#save();
      return key;
    });
  }

  /** Authorises the flow's requests with this key. */
  #authFor(key: Bearer): flow.Authorize {
    return (method, url) => this.#mech.authorize(key, method, url);
  }

  #init(bearer: Bearer): Promise<BrokerageStatus> {
    return this.#once("init", async () => {
      const status = await flow.initBrokerage(this.#flow, this.#authFor(bearer), this.#cfg.compete);
      if (this.#bearer !== bearer) return status; // replaced meanwhile; its own init follows
      // IBKR's own words reach status() and so /health: without the secrets they may echo.
      this.#brokerage = status.message ? { ...status, message: this.#redact(status.message) } : status;
      this.#brokerageInitAt = this.#cfg.now();
      this.#lastTickle = undefined;
      this.#epoch++;
      this.#counters.inits++;
      this.#cfg.logger.info(
        { step: "init", authenticated: status.authenticated, competing: status.competing },
        "brokerage session opened",
      );
      await this.#save();
      return status;
    });
  }

  /**
   * ssodh/init; if IBKR refuses an older bearer, one new bearer and init again. A refusal of a fresh bearer
   * goes through #validateThenInit before anyone blames the IP claim.
   */
  async #initOrRelogin(bearer: Bearer): Promise<void> {
    try {
      await this.#init(bearer);
      return;
    } catch (e) {
      if (!refusedSession(e)) throw e;
      if (this.#bearerIsFresh(bearer)) return this.#validateThenInit(bearer, e);
    }
    const fresh = await this.#newBearer("init refused the bearer");
    try {
      await this.#init(fresh);
    } catch (e) {
      if (!refusedSession(e)) throw e;
      await this.#validateThenInit(fresh, e);
    }
  }

  /**
   * IBKR's onboarding mail orders token → sso-sessions → /sso/validate → ssodh/init; its code samples skip
   * validate, and so does our login. When init refuses a fresh bearer: one /sso/validate (paced), then init
   * again. Validate refused too: the IP claim. Validate accepted: init wanted it first, or (refused again)
   * IBKR accepts the SSO session but not a brokerage session for it. The log line says which.
   */
  async #validateThenInit(bearer: Bearer, refusal: IbauthError): Promise<void> {
    let validated: ValidateResult;
    try {
      validated = await this.#validate(bearer);
    } catch (e) {
      if (!refusedSession(e)) throw e;
      this.#cfg.logger.warn({ step: "validate" }, "sso/validate refused the new bearer too: the IP claim");
      throw this.#mech.refusal(bearer, refusal.response, "init");
    }
    try {
      await this.#init(bearer);
    } catch (e) {
      if (!refusedSession(e)) throw e;
      throw new IbauthError("IBKR accepts the SSO session but refuses a brokerage session for it", {
        code: "ERR_AUTH",
        step: "init",
        ...(e.status === undefined ? {} : { status: e.status }),
        ...(e.response ? { response: e.response } : {}),
        ...(e.ibkrMessage ? { ibkrMessage: e.ibkrMessage } : {}),
        hint: `sso/validate answered ${validated.valid ? "valid" : "not valid"} from this IP, so the ip claim is not the cause. Check that the username may trade through this OAuth client (paper vs live), or ask IBKR API support`,
      });
    }
    this.#cfg.logger.info(
      { step: "init" },
      "ssodh/init refused the new bearer until sso/validate was called; it succeeded after validate",
    );
  }

  /** A new bearer and brokerage session, unless another process already made one. */
  #relogin(reason: string): Promise<void> {
    return this.#underLoginLock(async () => {
      if (await this.#adoptNewerFromStore()) return;
      const bearer = await this.#newBearer(reason);
      await this.#initOrRelogin(bearer);
    });
  }

  /** Processes sharing a store log in one at a time (when the store can lock), so they log in once. */
  async #underLoginLock(work: () => Promise<void>): Promise<void> {
    let unlock: (() => Promise<void>) | undefined;
    try {
      unlock = await this.#cfg.store.lock?.("login");
    } catch (e) {
      this.#cfg.logger.warn(
        { step: "store", error: e instanceof Error ? e.name : "unknown" },
        "login lock failed; logging in without it",
      );
    }
    try {
      await work();
    } finally {
      await unlock?.().catch(() => undefined);
    }
  }

  #bearerIsFresh(bearer: Bearer | undefined = this.#bearer): boolean {
    return bearer !== undefined && this.#cfg.now() - bearer.createdAt < FRESH_BEARER_MS;
  }

  /**
   * Tickles at most once a second. Callers within that second share the answer, except a `fresh` check
   * (is the session alive after a 401?), which waits out the second instead of trusting an older answer.
   */
  #tickleShared(fresh = false): Promise<TickleResult> {
    const last = this.#lastTickle;
    if (!fresh && last && last.epoch === this.#epoch && this.#cfg.now() - last.at < TICKLE_INTERVAL_MS)
      return Promise.resolve(last.result);
    return this.#once("tickle", async () => {
      const wait = last ? last.at + TICKLE_INTERVAL_MS - this.#cfg.now() : 0;
      if (wait > 0) await this.#cfg.sleep(wait);
      const bearer = this.#bearer;
      if (!bearer)
        throw new IbauthError("no session to tickle", {
          code: "ERR_SESSION",
          step: "tickle",
          hint: "Call connect() first",
        });
      const epoch = this.#epoch;
      const result = await flow.tickle(this.#flow, this.#authFor(bearer));
      this.#counters.tickles++;
      this.#lastTickle = { at: this.#cfg.now(), epoch, result };
      this.#brokerage = {
        authenticated: result.authenticated,
        competing: result.competing,
        connected: result.connected,
      };
      return result;
    });
  }

  /**
   * Heals after a request met 401 or "no bridge", once for every caller whose request was sent in the same
   * epoch. A 401 is checked with a tickle first: IBKR also answers 401 on some endpoints of a live session
   * (/portfolio/* before /portfolio/accounts), and minting a bearer for those would not help.
   */
  async #heal(problem: SessionProblem, epoch: number): Promise<"healed" | "alive"> {
    if (this.#epoch !== epoch) return "healed";
    if (problem === "unauthorized" && this.#aliveCheckedEpoch === epoch) return "alive";
    const running = this.#flights.has("heal");
    const heal = this.#once("heal", () =>
      this.#run(async () => {
        this.#counters.heals++;
        this.#setState("connecting");
        const verdict = await this.#healOnce(problem, epoch);
        this.#setState("connected");
        return verdict;
      }),
    );
    // queued callers keep their place but wait for the new bearer instead of spending slots on the dead one
    if (!running) this.#http.pacer.hold(heal);
    return heal;
  }

  async #healOnce(problem: SessionProblem, epoch: number): Promise<"healed" | "alive"> {
    if (await this.#adoptNewerFromStore()) return "healed";
    if (problem === "unauthorized") {
      let alive: TickleResult | undefined;
      try {
        alive = await this.#tickleShared(true);
      } catch (e) {
        if (!refusedSession(e)) throw e;
      }
      if (alive?.authenticated) {
        this.#aliveCheckedEpoch = epoch;
        this.#cfg.logger.info(
          { step: "request" },
          "401 on a live session: the endpoint refused, not the session (e.g. /portfolio/* wants /portfolio/accounts first)",
        );
        return "alive";
      }
      if (!alive) {
        await this.#relogin("401 on a request");
        return "healed";
      }
    }
    this.#cfg.logger.info({ step: "init" }, "brokerage session lost; re-opening it");
    await this.#initOrRelogin(this.#bearer as Bearer);
    return "healed";
  }

  /** Paths are appended to the origin (keeping a relay's path prefix); the bearer never goes to another origin. */
  #urlFor(path: string): string {
    const origin = originOf(this.#cfg);
    const raw = path.startsWith("/") && !path.startsWith("//") ? origin + path : path;
    let href: string;
    try {
      href = new URL(raw).href;
    } catch {
      href = "";
    }
    if (!href.startsWith(`${origin}/`)) {
      throw new IbauthError(
        "auth.fetch only calls the configured IBKR origin; pass a path such as /v1/api/portfolio/accounts",
        {
          code: "ERR_CONFIG",
          step: "request",
          field: "path",
        },
      );
    }
    return href;
  }

  /** One authenticated request; `epoch` is that of the bearer it carried, for the heal's bookkeeping. */
  async #send(url: string, init: RequestInit): Promise<{ res: Response; epoch: number }> {
    let epoch = this.#epoch;
    // The bearer is chosen when the request leaves the pacing queue, which a heal holds: so it is the healed one.
    const method = (init.method ?? "GET").toUpperCase();
    const beforeSend = async (headers: Headers) => {
      epoch = this.#epoch;
      headers.set("Authorization", await this.#mech.authorize(this.#bearer as Bearer, method, url));
    };
    let res: Response;
    try {
      res = await send(this.#http, {
        step: "request",
        method,
        url,
        headers: init.headers,
        body: init.body,
        signal: init.signal ?? undefined,
        beforeSend,
      });
    } catch (e) {
      throw this.#fail(e);
    }
    if (res.status === 429) {
      const text = await res.text().catch(() => "");
      await this.#pacing.flushed();
      throw this.#fail(errorFromResponse("request", res, text, this.#http));
    }
    return { res, epoch };
  }

  /**
   * Sends; a "no bridge" within BRIDGE_SETTLE_MS of ssodh/init means "not yet" (IBKR needs 1-5 s before
   * /iserver answers), so it waits until BRIDGE_SETTLE_MS after the init and tries once more, instead of
   * re-opening the session and restarting the wait.
   */
  async #sendSettled(
    url: string,
    init: RequestInit,
  ): Promise<{ res: Response; epoch: number; problem?: SessionProblem }> {
    let sent = await this.#send(url, init);
    let problem = await this.#problemOf(sent.res);
    const initAt = this.#brokerageInitAt;
    if (problem === "no-bridge" && initAt !== undefined && this.#cfg.now() - initAt < BRIDGE_SETTLE_MS) {
      await this.#cfg.sleep(initAt + BRIDGE_SETTLE_MS - this.#cfg.now());
      sent = await this.#send(url, init);
      problem = await this.#problemOf(sent.res);
    }
    return problem ? { ...sent, problem } : sent;
  }

  /** Reads the body only of 400s (to spot "no bridge"), from a clone: the caller's Response stays unread. */
  async #problemOf(res: Response): Promise<SessionProblem | undefined> {
    // IBKR's gateway sends a session it refuses to /sso/Login: a 401 by another name
    if (res.status === 401 || (isRedirect(res) && isLoginRedirect(res))) return "unauthorized";
    if (res.status !== 400) return undefined;
    const text = await res
      .clone()
      .text()
      .catch(() => "");
    return isNoBridgeAnswer(400, text) ? "no-bridge" : undefined;
  }
}
