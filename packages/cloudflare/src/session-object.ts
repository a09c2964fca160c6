import {
  IBAuth,
  IbauthError,
  type Logger,
  parseSessionRecord,
  type SessionRecord,
  type SessionStore,
} from "@ibauth/core";
import { coreOptions, type Loaded, loadSessionConfig, type SessionConfig } from "./config";
import {
  type DurableSettings,
  type DurableWorkerOptions,
  POKE_PATH,
  resolveDurableSettings,
  USER_HEADER,
} from "./durable-settings";
import { durableStore } from "./durable-store";
import type { DurableStateLike } from "./durable-types";
import { isLoginRequest } from "./login-gate";
import { type HealthView, objectHealth } from "./object-health";
import { proxyThroughSession, rateLimited } from "./object-proxy";
import { summarizeError } from "./outcome";
import { json, problem } from "./respond";
import { type IbauthDurableEnv, userEnv, userLabels } from "./users";

/** What the object keeps besides the session record: written only when one of these changes. */
interface ObjectMeta {
  v: 1;
  label: string;
  /** Set by POST /session/logout: nothing logs in, tickles or proxies until POST /session/login. */
  paused: boolean;
  /** IBKR's penalty: nothing is sent for this user before this time (epoch ms). */
  penaltyUntil: number;
}

const META = "meta";
const SESSION = "session";
/** The first tick after a penalty waits this much longer than the penalty itself. */
const PENALTY_MARGIN_MS = 1000;

/** A logger that names the user on every line (a label, never the IBKR username). */
function labelled(logger: Logger, user: string): Logger {
  const line = (level: keyof Logger) => (fields: Record<string, unknown>, msg?: string) =>
    logger[level]({ user, ...fields }, msg);
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

/**
 * One IBKR username's session, held by one Durable Object: the only IBAuth for that username anywhere,
 * so logins and heals are single-flight and every proxied call shares one pacer. The alarm keeps the
 * session alive; the pause after a logout and IBKR's penalty are stored, so they survive eviction.
 */
export class SessionObject {
  readonly #state: DurableStateLike;
  readonly #env: IbauthDurableEnv;
  readonly #settings: DurableSettings;
  #meta: ObjectMeta | undefined;
  #config: Promise<Loaded<SessionConfig>> | undefined;
  #auth: IBAuth | undefined;
  /** Bumped by a logout: an IBAuth of an earlier generation may no longer log in or save. */
  #generation = 0;
  #failures = 0;
  #armed = false;

  constructor(state: DurableStateLike, env: IbauthDurableEnv, settings: DurableSettings) {
    this.#state = state;
    this.#env = env;
    this.#settings = settings;
    void state.blockConcurrencyWhile(async () => {
      this.#meta = await state.storage.get<ObjectMeta>(META);
    });
  }

  get #logger(): Logger {
    return labelled(this.#settings.logger(this.#env), this.#meta?.label ?? "?");
  }

  async fetch(request: Request): Promise<Response> {
    const label = request.headers.get(USER_HEADER);
    if (!label) return problem(400, "requests reach this object through the ibauth Worker only");
    if (!this.#meta) await this.#saveMeta({ v: 1, label, paused: false, penaltyUntil: 0 });
    else if (this.#meta.label !== label) return problem(409, "this object holds another user's session");
    const path = new URL(request.url).pathname;
    const loaded = await this.#loaded();
    if (path === "/health") return json(...(await this.#health(loaded)));
    if (!loaded.ok)
      return problem(503, "this user is not configured; see GET /health", { problems: loaded.problems });
    if (path === POKE_PATH) {
      await this.#arm(0);
      return new Response(null, { status: 204 });
    }
    if (path === "/session/logout") return this.#logout(loaded.config);
    const now = this.#settings.now();
    const meta = this.#meta as ObjectMeta;
    if (meta.penaltyUntil > now) return rateLimited(meta.penaltyUntil, now);
    if (path === "/session/login") return this.#login(loaded.config);
    if (meta.paused)
      return problem(503, "paused by POST /session/logout: POST /session/login resumes", { paused: true });
    const auth = this.#authFor(loaded.config);
    await this.#arm(this.#settings.keepaliveMs);
    const response = await proxyThroughSession(
      request,
      auth,
      loaded.config.origin,
      this.#settings.maxReplayBodyBytes,
      this.#settings.now,
    );
    await this.#notePenalty(auth);
    return response;
  }

  /** The keepalive: tickle, heal or log in as the core decides; then the next alarm. Never throws. */
  async alarm(): Promise<void> {
    this.#armed = false;
    const meta = this.#meta;
    if (!meta || meta.paused) return;
    const loaded = await this.#loaded();
    if (!loaded.ok) {
      // Not re-armed: a request or the cron watchdog's poke arms it again after a redeploy.
      this.#logger.error({ problems: loaded.problems }, "ibauth: user not configured; keepalive stopped");
      return;
    }
    if (!userLabels(this.#env).labels.includes(meta.label)) return this.#retire(loaded.config);
    const now = this.#settings.now();
    if (meta.penaltyUntil > now) return this.#schedule(meta.penaltyUntil - now + PENALTY_MARGIN_MS);
    const auth = this.#authFor(loaded.config);
    try {
      const outcome = await auth.tick();
      this.#failures = 0;
      const level = outcome.action === "tickled" ? "debug" : "info";
      this.#logger[level]({ action: outcome.action, state: outcome.status.state }, "ibauth: tick");
      await this.#notePenalty(auth);
      await this.#schedule(this.#settings.keepaliveMs);
    } catch (error) {
      this.#failures++;
      await this.#notePenalty(auth);
      const after = this.#settings.now();
      const until = this.#meta?.penaltyUntil ?? 0;
      const backoff = this.#settings.retryMs * 2 ** (this.#failures - 1);
      const delay =
        until > after ? until - after + PENALTY_MARGIN_MS : Math.min(this.#settings.keepaliveMs, backoff);
      const summary = summarizeError(error, after);
      this.#logger.error(
        {
          code: summary.code,
          step: summary.step,
          status: summary.status,
          hint: summary.hint,
          retryInMs: delay,
        },
        `ibauth: keepalive tick failed: ${summary.message}`,
      );
      await this.#schedule(delay);
    }
  }

  #loaded(): Promise<Loaded<SessionConfig>> {
    this.#config ??= (async () => {
      const { env, rename } = userEnv(this.#env, (this.#meta as ObjectMeta).label);
      const loaded = await loadSessionConfig(env);
      return loaded.ok ? loaded : { ok: false as const, problems: loaded.problems.map(rename) };
    })();
    return this.#config;
  }

  #authFor(config: SessionConfig): IBAuth {
    if (this.#auth) return this.#auth;
    const generation = this.#generation;
    const current = () => generation === this.#generation;
    const sealed = this.#sealed(config);
    // After a logout, a login or save still in flight from before it must not bring the session back.
    const store: SessionStore = {
      get: () => (current() ? sealed.get() : Promise.resolve(undefined)),
      set: (record) => (current() ? sealed.set(record) : Promise.resolve()),
      delete: () => sealed.delete(),
    };
    const fetch = ((input: RequestInfo | URL, init?: RequestInit) =>
      current() || !isLoginRequest(input)
        ? this.#settings.fetch(input, init)
        : Promise.reject(
            new Error("not sent: the session was logged out meanwhile"),
          )) as typeof globalThis.fetch;
    this.#auth = new IBAuth({
      ...coreOptions(this.#settings.auth, config.auth),
      fetch,
      store,
      logger: this.#logger,
      now: this.#settings.now,
      sleep: this.#settings.auth.sleep ?? this.#settings.sleep,
    });
    return this.#auth;
  }

  /** The session record in this object's storage, sealed and bound to the user's label. */
  #sealed(config: SessionConfig): SessionStore {
    const label = (this.#meta as ObjectMeta).label;
    return durableStore(this.#state.storage, {
      name: SESSION,
      aad: `ibauth:do:v1:${label}:${SESSION}`,
      key: config.keys.record,
      logger: this.#logger,
    });
  }

  async #login(config: SessionConfig): Promise<Response> {
    const meta = this.#meta as ObjectMeta;
    if (meta.paused) await this.#saveMeta({ ...meta, paused: false });
    const auth = this.#authFor(config);
    try {
      const status = await auth.connect();
      this.#failures = 0;
      await this.#arm(this.#settings.keepaliveMs);
      this.#logger.info({ state: status.state }, "ibauth: logged in by operator");
      return json({ ok: true, status });
    } catch (error) {
      await this.#notePenalty(auth);
      await this.#arm(this.#settings.retryMs);
      const summary = summarizeError(error, this.#settings.now());
      this.#logger.error(
        { code: summary.code, step: summary.step, hint: summary.hint },
        `ibauth: login failed: ${summary.message}`,
      );
      return json({ ok: false, error: summary }, 502);
    }
  }

  /** Pauses first (stored), then logs out at IBKR: from this moment no route of this user sends anything. */
  async #logout(config: SessionConfig): Promise<Response> {
    const meta = this.#meta as ObjectMeta;
    await this.#saveMeta({ ...meta, paused: true });
    const warning = await this.#end(config);
    this.#logger.info({ state: "paused" }, "ibauth: logged out by operator; idle until POST /session/login");
    const now = this.#settings.now();
    return json({
      ok: true,
      paused: true,
      ...(warning !== undefined && { warning: summarizeError(warning, now) }),
    });
  }

  /**
   * A user taken out of IBAUTH_USERS: its session is ended (or it would keep reopening the brokerage
   * session, competing with the TWS or app the user may now use) and its alarm not armed again. Listed
   * again, it logs in at its next call or watchdog poke.
   */
  async #retire(config: SessionConfig): Promise<void> {
    const warning = await this.#end(config);
    this.#logger.warn(
      {
        state: "closed",
        warning: warning === undefined ? undefined : summarizeError(warning, this.#settings.now()).code,
      },
      "ibauth: user no longer in IBAUTH_USERS: logged out at IBKR, keepalive stopped",
    );
  }

  /** Ends the session: no alarm, no IBAuth, no record; logged out at IBKR unless its penalty runs. */
  async #end(config: SessionConfig): Promise<unknown> {
    const meta = this.#meta as ObjectMeta;
    await this.#state.storage.deleteAlarm();
    this.#armed = false;
    const auth = this.#authFor(config);
    this.#auth = undefined;
    this.#generation++;
    let warning: unknown;
    const now = this.#settings.now();
    if (meta.penaltyUntil > now) {
      // A request during IBKR's penalty extends it: the session is forgotten here and idles out at IBKR.
      warning = new IbauthError(
        "not logged out at IBKR: its penalty runs; the session idles out there in ~6 min",
        {
          code: "ERR_RATE_LIMITED",
          step: "logout",
          retryAfterMs: meta.penaltyUntil - now,
        },
      );
    } else {
      try {
        await auth.logout();
      } catch (error) {
        warning = error; // the session may be dead already: it is forgotten all the same
      }
    }
    await this.#state.storage.delete(SESSION);
    return warning;
  }

  /** Keeps IBKR's penalty in storage, and the alarm behind it. */
  async #notePenalty(auth: IBAuth): Promise<void> {
    const until = auth.status().rateLimitedUntil ?? 0;
    const meta = this.#meta as ObjectMeta;
    if (until <= meta.penaltyUntil) return;
    await this.#saveMeta({ ...meta, penaltyUntil: until });
    this.#logger.warn(
      { resumesAt: until },
      "ibauth: IBKR rate-limited this user; sending nothing until then",
    );
    if (!meta.paused) await this.#schedule(until - this.#settings.now() + PENALTY_MARGIN_MS);
  }

  /** Arms the alarm if nothing is scheduled (or the schedule was lost); a paused session stays unarmed. */
  async #arm(delayMs: number): Promise<void> {
    if (this.#armed || this.#meta?.paused) return;
    const at = await this.#state.storage.getAlarm();
    if (at !== null && at > Date.now() - 2 * this.#settings.keepaliveMs) {
      this.#armed = true;
      return;
    }
    await this.#schedule(delayMs);
  }

  /** Alarms run on the runtime's clock; the delay is computed on the session's clock (`now`). */
  async #schedule(delayMs: number): Promise<void> {
    const delay = Math.max(0, delayMs);
    await this.#state.storage.setAlarm(Date.now() + delay);
    this.#armed = true;
  }

  async #saveMeta(meta: ObjectMeta): Promise<void> {
    await this.#state.storage.put(META, meta);
    this.#meta = meta;
  }

  /**
   * From memory when the object has run since its last restart, else from storage: the sealed record
   * and the armed alarm (an evicted object's health must not read as "no session").
   */
  async #health(loaded: Loaded<SessionConfig>): Promise<[Record<string, unknown>, number]> {
    const meta = this.#meta as ObjectMeta;
    let record: SessionRecord | undefined;
    if (loaded.ok && !meta.paused) record = parseSessionRecord(await this.#sealed(loaded.config).get());
    const alarmAt = await this.#state.storage.getAlarm();
    const view: HealthView = {
      label: meta.label,
      paused: meta.paused,
      penaltyUntil: meta.penaltyUntil,
      problems: loaded.ok ? [] : loaded.problems,
      status: this.#auth?.status(),
      record,
      alarmInMs: alarmAt === null ? null : alarmAt - Date.now(),
      keepaliveMs: this.#settings.keepaliveMs,
      failures: this.#failures,
      now: this.#settings.now(),
    };
    const body = objectHealth(view);
    return [body, body.ok ? 200 : 503];
  }
}

/** What the runtime instantiates: one object per user, with its `fetch` and `alarm` handlers. */
export type IbauthSessionClass = new (
  state: DurableStateLike,
  env: IbauthDurableEnv,
) => { fetch(request: Request): Promise<Response>; alarm(): Promise<void> };

/**
 * The Durable Object class to export from the Worker (`export const IbauthSession = ibauthSession(options)`),
 * bound in wrangler.toml with a `new_sqlite_classes` migration. Options as for createDurableWorker.
 */
export function ibauthSession(options: DurableWorkerOptions = {}): IbauthSessionClass {
  const settings = resolveDurableSettings(options);
  return class IbauthSession extends SessionObject {
    constructor(state: DurableStateLike, env: IbauthDurableEnv) {
      super(state, env, settings);
    }
  };
}
