import { type AuthStatus, IBAuth, type Logger, parseSessionRecord, type SessionRecord } from "@ibauth/core";
import {
  coreOptions,
  type IbauthWorkerEnv,
  type LoadedConfig,
  loadConfig,
  type WorkerConfig,
} from "./config";
import { hmacHex } from "./crypto";
import { kvStore } from "./kv-store";
import type { KvNames } from "./operation";
import type { HealResult } from "./proxy";
import { type ProxyPacing, proxyPacing } from "./proxy-pacing";
import type { WorkerSettings } from "./settings";
import { type StatusBook, statusBook } from "./status-record";

/** Everything one request or tick needs, built once per env object per isolate. */
export interface Context {
  loaded: LoadedConfig;
  logger: Logger;
  /** Present when the configuration is complete. */
  ready?: Ready;
}

export interface Ready {
  config: WorkerConfig;
  names: KvNames;
  book: StatusBook;
  /** The session record as KV holds it; cached for recordCacheMs unless `fresh`. */
  record(fresh?: boolean): Promise<SessionRecord | undefined>;
  /** Replaces the cached record after this isolate changed it. */
  remember(record: SessionRecord | undefined): void;
  /** The last status a tick in this isolate produced (fresher than KV, which is written on change only). */
  local: { status?: AuthStatus; at?: number };
  /** Proxy heals in this isolate: one at a time, and not more often than healCooldownMs. */
  heal: { inFlight?: Promise<HealResult>; lastAt?: number };
  /** This isolate's proxy reported an IP mismatch; its next accepted request clears it. */
  ipMismatchFlagged: boolean;
  /** This isolate's proxy pacing (IBKR's budget and the penalty shared through KV). */
  pacing: ProxyPacing;
  /**
   * Signs proxied requests with the stored session key (`Bearer`, or OAuth 1.0a's HMAC-SHA256 with the
   * LST): the core's mechanism, so there is one signing implementation. It sends nothing itself.
   */
  signer: IBAuth;
}

/**
 * The KV names for a configuration. The session key is an HMAC (keyed by IBAUTH_SESSION_KEY) of client
 * id, credential and origin (OAuth 1.0a: consumer key, access token and origin): distinct per
 * configuration, and it reveals nothing, not even the username.
 */
async function kvNames(config: WorkerConfig, fixed: string | undefined): Promise<KvNames> {
  const who =
    "oauth1" in config.auth
      ? `oauth1|${config.auth.oauth1.consumerKey}|${config.auth.oauth1.accessToken}`
      : `${config.auth.clientId}|${config.auth.credential}`;
  const base =
    fixed ??
    `ibauth:session:v1:${(await hmacHex(config.keys.naming, `${who}|${config.origin}`)).slice(0, 32)}`;
  return { session: base, lease: `${base}:lease`, status: `${base}:status`, brake: `${base}:brake` };
}

export function createRuntime(settings: WorkerSettings): (env: IbauthWorkerEnv) => Promise<Context> {
  const contexts = new WeakMap<object, Promise<Context>>();

  async function build(env: IbauthWorkerEnv): Promise<Context> {
    const logger = settings.logger(env);
    const loaded = await loadConfig(env);
    if (!loaded.ok) return { loaded, logger };
    const config = loaded.config;
    const names = await kvNames(config, settings.storeKey);
    const store = kvStore(config.kv, { key: names.session, encryptionKey: config.keys.record, logger });
    let cached: { record: SessionRecord | undefined; at: number } | undefined;
    const ready: Ready = {
      config,
      names,
      book: statusBook(config.kv, names.status, settings.heartbeatMs, settings.now),
      async record(fresh = false) {
        const now = settings.now();
        if (!fresh && cached && now - cached.at < settings.recordCacheMs) return cached.record;
        const record = parseSessionRecord(await store.get());
        cached = { record, at: now };
        return record;
      },
      remember(record) {
        cached = { record, at: settings.now() };
      },
      local: {},
      heal: {},
      ipMismatchFlagged: false,
      pacing: proxyPacing(store, settings, logger),
      signer: new IBAuth({
        ...coreOptions(settings.auth, config.auth),
        fetch: settings.fetch,
        logger,
        now: settings.now,
      }),
    };
    return { loaded, logger, ready };
  }

  return (env) => {
    let context = contexts.get(env);
    if (!context) {
      context = build(env);
      contexts.set(env, context);
      // A failure to build (e.g. KV unreachable) must not stick to this env object.
      context.catch(() => contexts.delete(env));
    }
    return context;
  };
}
