export { closest } from "./closest";
export { DEFAULT_IP_LOOKUP_URL, isIp, VALID_DOMAINS, VERSION } from "./config";
export type { IbauthErrorCode, IbauthErrorOptions, IbauthStep } from "./errors";
export { IbauthError, isIbauthError } from "./errors";
export { IBAuth } from "./ibauth";
export { importPrivateKey } from "./keys";
export type { ConsoleLoggerOptions, Logger, LogLevel } from "./log";
export { consoleLogger, silentLogger } from "./log";
export type { SessionKey } from "./mechanism";
export { isNoBridgeAnswer } from "./no-bridge";
export { checkOAuth1, type OAuth1Finding } from "./oauth1/check";
export { importOAuth1SignatureKey } from "./oauth1/prepared";
export {
  dhParamsFromPem,
  OAUTH1_ENV_NAMES,
  OAUTH1_SHARED_OPTIONS,
  OAUTH1_YAML_KEYS,
  oauth1EnvName,
  oauth1FromConfig,
  oauth1FromEnv,
  usesOAuth1Env,
} from "./oauth1/settings";
export type { AdmitOptions, PacerOptions } from "./pacing";
export { Pacer } from "./pacing";
export { PacingShare } from "./pacing-share";
export type { EndpointLimit, EndpointLimits, PacingRecord } from "./pacing-table";
export { endpointTable, IBKR_ENDPOINT_LIMITS, parsePacingRecord } from "./pacing-table";
export { MAX_RETRY_AFTER_MS, parseRetryAfter } from "./penalty";
export type { Settings, SettingsSource } from "./settings";
export {
  ENV_NAMES,
  settingsFromConfigFile,
  settingsFromEnv,
  unknownKeyWarning,
  YAML_KEYS,
} from "./settings";
export type { PacingStore, SessionRecord, SessionStore } from "./store";
export {
  classifyRecord,
  memoryStore,
  parseSessionRecord,
  RECORD_PROBLEMS,
  type RecordKind,
  type RecordProblem,
  type RecordReading,
  undecryptableProblem,
} from "./store";
export { storedRecordProblem } from "./stored-record";
export type {
  AuthState,
  AuthStatus,
  BrokerageStatus,
  IBAuthOAuth1Options,
  IBAuthOptions,
  OAuth1Credentials,
  TickleResult,
  TickOutcome,
  ValidateResult,
} from "./types";
