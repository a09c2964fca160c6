/**
 * @module
 * IBKR Web API OAuth 2.0 and OAuth 1.0a for Deno: config from env or a YAML file, a Deno KV session store,
 * and a `Deno.cron` keepalive. Re-exports @ibauth/core, so one import is enough.
 *
 * ```ts
 * import { authFromEnv, denoKvStore, keepAliveCron } from "@ibauth/deno";
 * const auth = authFromEnv({ store: denoKvStore(await Deno.openKv()) });
 * await auth.connect();
 * keepAliveCron(auth);
 * ```
 */

export type {
  AuthState,
  AuthStatus,
  BrokerageStatus,
  IBAuthOptions,
  IbauthErrorCode,
  IbauthStep,
  Logger,
  LogLevel,
  SessionRecord,
  SessionStore,
  TickleResult,
  TickOutcome,
  ValidateResult,
} from "@ibauth/core";
export {
  consoleLogger,
  IBAuth,
  IbauthError,
  isIbauthError,
  memoryStore,
  parseSessionRecord,
  silentLogger,
} from "@ibauth/core";
export type { EnvSource, FromEnvOverrides } from "./env.ts";
export { authFromEnv, optionsFromEnv } from "./env.ts";
export type { CronScheduleObject, KeepAliveCronOptions, KeepAliveHandle } from "./keepalive.ts";
export { keepAliveCron } from "./keepalive.ts";
export type { DenoKvStoreOptions, KvLike } from "./kv_store.ts";
export { denoKvStore } from "./kv_store.ts";
export type { TickReport } from "./ticker.ts";
export { authFromYaml, optionsFromYaml } from "./yaml.ts";
