import { IbauthError } from "./errors";
import * as flow from "./flow";
import { refusedSession } from "./http-errors";
import type { Mechanism, SessionKey } from "./mechanism";
import type { SessionState } from "./session";
import type { StoreSync } from "./store-sync";
import type { BrokerageStatus, TickleResult, ValidateResult } from "./types";

/** IBKR allows /tickle once a second and /sso/validate once a minute (protocol notes §4). */
const TICKLE_INTERVAL_MS = 1000;
const VALIDATE_INTERVAL_MS = 60_000;
/**
 * A 401 on a request sent this soon after obtaining the session key is not its expiry: the IP claim
 * (OAuth 2.0) or the credentials (OAuth 1.0a) — the mechanism's refusal() names which.
 */
const FRESH_KEY_MS = 30_000;

/** What a request met that a heal may cure: a refused session key, or a brokerage session that is gone. */
export type SessionProblem = "unauthorized" | "no-bridge";

/**
 * How a session is (re)built and healed: a new session key, ssodh/init, the paced tickle and validate, and
 * the heal after a request met 401 or "no bridge", once for all concurrent callers (single flight by key).
 */
export class Healer {
  /** The epoch whose 401 a tickle showed to be the endpoint's, not the session's. */
  #aliveCheckedEpoch = -1;

  constructor(
    private readonly s: SessionState,
    private readonly mech: Mechanism,
    private readonly store: StoreSync,
  ) {}

  async ensureKey(): Promise<SessionKey> {
    await this.store.load();
    return this.s.key ?? this.s.run(() => this.newKey("login"));
  }

  /** A new session key from the mechanism; the brokerage session of the old one is forgotten. */
  newKey(reason: string): Promise<SessionKey> {
    return this.s.once("key", async () => {
      const key = await this.mech.obtain(reason, this.s.key);
      this.s.forgetSession();
      this.s.key = key;
      this.s.counters.bearers++;
      await this.store.save();
      return key;
    });
  }

  /** Authorises the flow's requests with this key. */
  authFor(key: SessionKey): flow.Authorize {
    return (method, url) => this.mech.authorize(key, method, url);
  }

  keyIsFresh(key: SessionKey | undefined = this.s.key): boolean {
    return key !== undefined && this.s.cfg.now() - key.createdAt < FRESH_KEY_MS;
  }

  init(key: SessionKey): Promise<BrokerageStatus> {
    const s = this.s;
    return s.once("init", async () => {
      const status = await flow.initBrokerage(s.flow, this.authFor(key), s.cfg.compete);
      if (s.key !== key) return status; // replaced meanwhile; its own init follows
      // IBKR's own words reach status() and so /health: without the secrets they may echo.
      s.brokerage = status.message ? { ...status, message: s.redact(status.message) } : status;
      s.brokerageInitAt = s.cfg.now();
      s.lastTickle = undefined;
      s.epoch++;
      s.counters.inits++;
      s.cfg.logger.info(
        { step: "init", authenticated: status.authenticated, competing: status.competing },
        "brokerage session opened",
      );
      await this.store.save();
      return status;
    });
  }

  /** sso/validate at most once a minute per key: a second call within the minute gets the same answer. */
  validate(key: SessionKey): Promise<ValidateResult> {
    const s = this.s;
    const last = s.lastValidate;
    if (last && last.epoch === s.epoch && s.cfg.now() - last.at < VALIDATE_INTERVAL_MS)
      return Promise.resolve(last.result);
    return s.once("validate", async () => {
      const epoch = s.epoch;
      const result = await flow.validateSso(s.flow, this.authFor(key));
      s.lastValidate = { at: s.cfg.now(), epoch, result };
      await this.store.save();
      return result;
    });
  }

  /**
   * Tickles at most once a second. Callers within that second share the answer, except a `fresh` check
   * (is the session alive after a 401?), which waits out the second instead of trusting an older answer.
   */
  tickle(fresh = false): Promise<TickleResult> {
    const s = this.s;
    const last = s.lastTickle;
    if (!fresh && last && last.epoch === s.epoch && s.cfg.now() - last.at < TICKLE_INTERVAL_MS)
      return Promise.resolve(last.result);
    return s.once("tickle", async () => {
      const wait = last ? last.at + TICKLE_INTERVAL_MS - s.cfg.now() : 0;
      if (wait > 0) await s.cfg.sleep(wait);
      const key = s.key;
      if (!key)
        throw new IbauthError("no session to tickle", {
          code: "ERR_SESSION",
          step: "tickle",
          hint: "Call connect() first",
        });
      const epoch = s.epoch;
      const result = await flow.tickle(s.flow, this.authFor(key));
      s.counters.tickles++;
      s.lastTickle = { at: s.cfg.now(), epoch, result };
      s.brokerage = {
        authenticated: result.authenticated,
        competing: result.competing,
        connected: result.connected,
      };
      return result;
    });
  }

  /**
   * ssodh/init; if IBKR refuses an older key, one new key and init again. A refusal of a fresh key
   * goes through #validateThenInit before anyone blames the IP claim.
   */
  async initOrRelogin(key: SessionKey): Promise<void> {
    try {
      await this.init(key);
      return;
    } catch (e) {
      if (!refusedSession(e)) throw e;
      if (this.keyIsFresh(key)) return this.#validateThenInit(key, e);
    }
    const fresh = await this.newKey("init refused the session key");
    try {
      await this.init(fresh);
    } catch (e) {
      if (!refusedSession(e)) throw e;
      await this.#validateThenInit(fresh, e);
    }
  }

  /** A new key and brokerage session, unless another process already made one. */
  relogin(reason: string): Promise<void> {
    return this.store.underLoginLock(async () => {
      if (await this.store.adoptNewer()) return;
      const key = await this.newKey(reason);
      await this.initOrRelogin(key);
    });
  }

  /**
   * Heals after a request met 401 or "no bridge", once for every caller whose request was sent in the same
   * epoch. A 401 is checked with a tickle first: IBKR also answers 401 on some endpoints of a live session
   * (/portfolio/* before /portfolio/accounts), and minting a key for those would not help.
   */
  async heal(problem: SessionProblem, epoch: number): Promise<"healed" | "alive"> {
    const s = this.s;
    if (s.epoch !== epoch) return "healed";
    if (problem === "unauthorized" && this.#aliveCheckedEpoch === epoch) return "alive";
    const running = s.inFlight("heal");
    const heal = s.once("heal", () =>
      s.run(async () => {
        s.counters.heals++;
        s.setState("connecting");
        const verdict = await this.#healOnce(problem, epoch);
        s.setState("connected");
        return verdict;
      }),
    );
    // queued callers keep their place but wait for the new key instead of spending slots on the dead one
    if (!running) s.http.pacer.hold(heal);
    return heal;
  }

  async #healOnce(problem: SessionProblem, epoch: number): Promise<"healed" | "alive"> {
    if (await this.store.adoptNewer()) return "healed";
    if (problem === "unauthorized") {
      let alive: TickleResult | undefined;
      try {
        alive = await this.tickle(true);
      } catch (e) {
        if (!refusedSession(e)) throw e;
      }
      if (alive?.authenticated) {
        this.#aliveCheckedEpoch = epoch;
        this.s.cfg.logger.info(
          { step: "request" },
          "401 on a live session: the endpoint refused, not the session (e.g. /portfolio/* wants /portfolio/accounts first)",
        );
        return "alive";
      }
      if (!alive) {
        await this.relogin("401 on a request");
        return "healed";
      }
    }
    this.s.cfg.logger.info({ step: "init" }, "brokerage session lost; re-opening it");
    await this.initOrRelogin(this.s.key as SessionKey);
    return "healed";
  }

  /**
   * IBKR's onboarding mail orders token → sso-sessions → /sso/validate → ssodh/init; its code samples skip
   * validate, and so does our login. When init refuses a fresh key: one /sso/validate (paced), then init
   * again. Validate refused too: the IP claim. Validate accepted: init wanted it first, or (refused again)
   * IBKR accepts the SSO session but not a brokerage session for it. The log line says which.
   */
  async #validateThenInit(key: SessionKey, refusal: IbauthError): Promise<void> {
    let validated: ValidateResult;
    try {
      validated = await this.validate(key);
    } catch (e) {
      if (!refusedSession(e)) throw e;
      this.s.cfg.logger.warn(
        { step: "validate" },
        "sso/validate refused the new session key too: for a bearer, the IP claim",
      );
      throw this.mech.refusal(key, refusal.response, "init");
    }
    try {
      await this.init(key);
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
    this.s.cfg.logger.info(
      { step: "init" },
      "ssodh/init refused the new key until sso/validate was called; it succeeded after validate",
    );
  }
}
