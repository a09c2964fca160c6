export { closest } from "./closest";
export { DEFAULT_IP_LOOKUP_URL, isIp, VALID_DOMAINS, VERSION } from "./config";
export type { IbauthErrorCode, IbauthErrorOptions, IbauthStep } from "./errors";
export { IbauthError, isIbauthError } from "./errors";
export { IBAuth } from "./ibauth";
export { importPrivateKey } from "./keys";
export type { ConsoleLoggerOptions, Logger, LogLevel } from "./log";
export { consoleLogger, silentLogger } from "./log";
export type { AdmitOptions, PacerOptions } from "./pacing";
export { MAX_RETRY_AFTER_MS, Pacer, parseRetryAfter } from "./pacing";
export { PacingShare } from "./pacing-share";
export type { EndpointLimit, EndpointLimits, PacingRecord } from "./pacing-table";
export { endpointTable, IBKR_ENDPOINT_LIMITS, parsePacingRecord } from "./pacing-table";
export type { Settings, SettingsSource } from "./settings";
export {
  ENV_NAMES,
  settingsFromConfigFile,
  settingsFromEnv,
  unknownKeyWarning,
  YAML_KEYS,
} from "./settings";
export type { PacingStore, SessionRecord, SessionStore } from "./store";
export { memoryStore, parseSessionRecord } from "./store";
export type {
  AuthState,
  AuthStatus,
  BrokerageStatus,
  IBAuthOptions,
  TickleResult,
  TickOutcome,
  ValidateResult,
} from "./types";
