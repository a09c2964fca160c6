import { originOf, resolveConfig, validateDomain } from "./config";
import { IbauthError } from "./errors";
import * as flow from "./flow";
import { Healer } from "./heal";
import { refusedSession } from "./http-errors";
import type { Mechanism, MechanismHost, SessionKey } from "./mechanism";
import { OAuth1Mechanism } from "./oauth1/mechanism";
import { OAuth2Mechanism } from "./oauth2";
import { sendSettled, urlFor } from "./request";
import { SessionState } from "./session";
import { StoreSync } from "./store-sync";
import type {
  AuthStatus,
  BrokerageStatus,
  IBAuthOAuth1Options,
  IBAuthOptions,
  TickleResult,
  TickOutcome,
  ValidateResult,
} from "./types";

// This file is the public API. Its parts: session.ts (what they share; status bookkeeping), store-sync.ts
// (the session record in the store), heal.ts (new keys, init, tickle, validate, the heal), request.ts
// (auth.fetch's sending) and pacing-share.ts (pacing across processes).

/**
 * An IBKR Web API session: OAuth 2.0 or OAuth 1.0a login (a {@link Mechanism}), the brokerage session,
 * keepalive and self-healing.
 * One instance per IBKR username; share it between callers (every method is safe to call concurrently).
 */
export class IBAuth {
  readonly #s: SessionState;
  readonly #mech: Mechanism;
  readonly #store: StoreSync;
  readonly #healer: Healer;

  constructor(options: IBAuthOptions | IBAuthOAuth1Options) {
    const cfg = resolveConfig(options);
    // the store and the pacing share name their records by the mechanism's owner hash, read once needed
    const s = new SessionState(cfg, () => this.#store.owner());
    const host: MechanismHost = {
      flow: s.flow,
      once: (key, fn) => s.once(key, fn),
      save: () => this.#store.save(),
      fail: (e) => void s.fail(e),
      counters: s.counters,
    };
    this.#s = s;
    this.#mech = cfg.oauth1 ? new OAuth1Mechanism(cfg, host) : new OAuth2Mechanism(cfg, host);
    this.#store = new StoreSync(s, this.#mech);
    this.#healer = new Healer(s, this.#mech, this.#store);
  }

  /** The IBKR host; settable to `api.ibkr.com` or `1.api.ibkr.com` … `7.api.ibkr.com` (ignored while `baseUrl` is set). */
  get domain(): string {
    return this.#s.cfg.domain;
  }

  set domain(value: string) {
    this.#s.cfg.domain = validateDomain(value);
  }

  // ---- the individual steps (each does its step; missing prerequisites are fetched first) ----

  /** A valid OAuth access token: reused while it has more than `refreshMarginMs` left, else a new one. */
  async getAccessToken(): Promise<string> {
    if (!(this.#mech instanceof OAuth2Mechanism))
      throw new IbauthError("OAuth 1.0a has no access-token step: the live session token replaces it", {
        code: "ERR_CONFIG",
        step: "token",
      });
    await this.#store.load();
    return (await this.#mech.accessToken()).token;
  }

  /**
   * Obtains a new session key: the SSO bearer (OAuth 2.0: access token and public IP first, in parallel)
   * or the live session token (OAuth 1.0a, base64). The brokerage session must be opened again after it.
   */
  async getBearerToken(): Promise<string> {
    await this.#store.load();
    return (await this.#s.run(() => this.#healer.newKey("requested"))).token;
  }

  /** ssodh/init: opens the brokerage (/iserver) session for the current session key (obtaining one if there is none). */
  async ssodhInit(): Promise<BrokerageStatus> {
    const key = await this.#healer.ensureKey();
    return this.#s.run(() => this.#healer.init(key));
  }

  /** sso/validate. IBKR allows it once a minute: a second call within the minute gets the same answer. */
  async validateSso(): Promise<ValidateResult> {
    const key = await this.#healer.ensureKey();
    return this.#s.run(() => this.#healer.validate(key));
  }

  /** /tickle, without healing: use `tick()` to keep a session alive. Calls within a second share one answer. */
  async tickle(): Promise<TickleResult> {
    await this.#healer.ensureKey();
    return this.#s.run(() => this.#healer.tickle());
  }

  /** Ends the session at IBKR and forgets it here and in the store. */
  async logout(): Promise<void> {
    await this.#store.load();
    const key = this.#s.key;
    this.#s.forgetSession();
    this.#s.setState("closed");
    try {
      if (key) await flow.logout(this.#s.flow, this.#healer.authFor(key));
    } catch (e) {
      // A dead session is as logged out as it gets.
      if (!refusedSession(e)) throw this.#s.fail(e);
    } finally {
      await this.#store.delete();
    }
    this.#s.cfg.logger.info({ step: "logout" }, "logged out");
  }

  /**
   * The Authorization header value for one request signed with a session key this instance did not
   * obtain itself, e.g. a stored record's `bearer` (OAuth 2.0: `Bearer …`; OAuth 1.0a: an HMAC-SHA256
   * signature with the live session token over `method` and `url`, query included). For a proxy that
   * sends requests itself and heals through `tick()`: it sends, loads, heals and counts nothing. Sign
   * each attempt anew: OAuth 1.0a nonces are single-use.
   */
  authorization(key: SessionKey, method: string, url: string): Promise<string> {
    return this.#mech.authorize(key, method, url);
  }

  // ---- the high level ----

  /** Everything needed for /iserver calls, once: resumes a stored session with zero requests, else logs in (3 round trips). */
  async connect(): Promise<AuthStatus> {
    await this.#ensureConnected();
    return this.status();
  }

  /** connect() without the snapshot: the hot path of every auth.fetch. */
  #ensureConnected(): Promise<void> {
    const b = this.#s.key;
    if (
      this.#s.state === "connected" &&
      b &&
      this.#s.brokerageInitAt !== undefined &&
      !this.#mech.expiring(b)
    )
      return Promise.resolve();
    return this.#s.once("connect", async () => {
      await this.#store.load();
      if (this.#s.key && this.#mech.expiring(this.#s.key)) {
        this.#s.setState("connecting");
        await this.#s.run(() => this.#healer.relogin("the session key expires"));
      } else if (!this.#s.key || this.#s.brokerageInitAt === undefined) {
        this.#s.setState("connecting");
        await this.#store.underLoginLock(async () => {
          // another process on this store may have logged in while this one waited for the lock
          if (await this.#store.adoptNewer()) return;
          await this.#s.run(async () =>
            this.#healer.initOrRelogin(this.#s.key ?? (await this.#healer.newKey("login"))),
          );
        });
      }
      this.#s.setState("connected");
    });
  }

  /**
   * An authenticated Web API call. `path` is relative to the origin (e.g. `/v1/api/portfolio/accounts`).
   * When IBKR answers 401 or "no bridge", the session is healed once for all concurrent callers and the
   * request replayed once. Other answers, errors included, come back as they are; 429 throws ERR_RATE_LIMITED.
   * A streamed body is buffered first (IBKR needs a Content-Length, and a replay needs the body twice).
   */
  async fetch(path: string, options: RequestInit = {}): Promise<Response> {
    const url = urlFor(this.#s.cfg, path);
    const init =
      options.body instanceof ReadableStream
        ? { ...options, body: await new Response(options.body).arrayBuffer() }
        : options;
    await this.#ensureConnected();
    const first = await sendSettled(this.#s, this.#mech, url, init);
    if (!first.problem) return first.res;
    if ((await this.#healer.heal(first.problem, first.epoch)) === "alive") return first.res;
    const replay = await sendSettled(this.#s, this.#mech, url, init);
    if (replay.problem === "unauthorized" && this.#healer.keyIsFresh())
      throw this.#s.fail(this.#mech.refusal(this.#s.key, replay.res, "request"));
    return replay.res;
  }

  /**
   * One keepalive step, for a timer or a cron trigger (about every 60 s): logs in if needed, refreshes the
   * access token before it expires, tickles, and heals what the tickle reveals. Throws when it cannot heal;
   * the next tick tries again.
   */
  async tick(): Promise<TickOutcome> {
    return this.#s.once("tick", async () => {
      const loadedBefore = this.#store.loaded;
      await this.#store.load();
      if (this.#s.state === "closed") return { action: "skipped", status: this.status() };
      // another process may have tickled, met a 429 or renewed the session since this one last looked
      // (a first load has just read both: reading them again would only cost a Worker tick 2 KV reads)
      if (loadedBefore) {
        await this.#s.pacing.load();
        if (await this.#store.adoptNewer())
          this.#s.cfg.logger.info({ step: "tickle" }, "adopted a session another process renewed");
      }
      if (!this.#s.key || this.#s.brokerageInitAt === undefined) {
        await this.#ensureConnected();
        return { action: "login", status: this.status() };
      }
      await this.#mech.maintain();
      if (this.#mech.expiring(this.#s.key)) {
        await this.#s.run(() => this.#healer.relogin("the session key expires"));
        this.#s.setState("connected");
        return { action: "relogin", status: this.status() };
      }
      let result: TickleResult;
      try {
        result = await this.#healer.tickle(true);
      } catch (e) {
        if (!refusedSession(e)) throw this.#s.fail(e);
        await this.#s.run(() => this.#healer.relogin("tickle refused the session key"));
        this.#s.setState("connected");
        return { action: "relogin", status: this.status() };
      }
      if (result.authenticated) {
        this.#s.setState("connected");
        return { action: "tickled", status: this.status() };
      }
      if (result.competing && !this.#s.cfg.compete) {
        throw this.#s.fail(
          new IbauthError("another platform holds the brokerage session", {
            code: "ERR_SESSION",
            step: "tickle",
            hint: "TWS, IBKR Mobile or the portal logged in with this username. Set compete: true to take it back, or use a second username for the API",
          }),
        );
      }
      if (result.competing) {
        this.#s.cfg.logger.warn(
          { step: "tickle" },
          "another platform took the brokerage session; taking it back (compete: true). A second IBKR username for the API avoids this",
        );
      }
      await this.#s.run(() => this.#healer.initOrRelogin(this.#s.key as SessionKey));
      this.#s.setState("connected");
      return { action: "reinit", status: this.status() };
    });
  }

  /** A snapshot without secrets: safe to log, print or serve. */
  status(): AuthStatus {
    const t = this.#s.lastTickle;
    const penalty = this.#s.http.pacer.penaltyUntil;
    return {
      state: this.#s.state,
      origin: originOf(this.#s.cfg),
      domain: this.#s.cfg.domain,
      ...this.#mech.status(this.#s.key),
      ...(this.#s.key ? { bearerCreatedAt: this.#s.key.createdAt } : {}),

      ...(this.#s.brokerage ? { brokerage: { ...this.#s.brokerage } } : {}),
      ...(t ? { lastTickleAt: t.at, ssoExpiresMs: t.result.ssoExpires } : {}),
      ...(penalty > this.#s.cfg.now() ? { rateLimitedUntil: penalty } : {}),
      ...(this.#s.lastError ? { lastError: { ...this.#s.lastError } } : {}),
      counters: { ...this.#s.counters },
    };
  }

  /** `JSON.stringify(auth)` and `console.log(auth)` show the status, never a secret. */
  toJSON(): AuthStatus {
    return this.status();
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `IBAuth ${JSON.stringify(this.status())}`;
  }
}
