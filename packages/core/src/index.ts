export { IBAuth } from "./ibauth";
export { IbauthError, isIbauthError } from "./errors";
export type { IbauthErrorCode, IbauthErrorOptions, IbauthStep } from "./errors";
export { consoleLogger, silentLogger } from "./log";
export type { ConsoleLoggerOptions, Logger, LogLevel } from "./log";
export { memoryStore, parseSessionRecord } from "./store";
export type { SessionRecord, SessionStore } from "./store";
export type {
  AuthState,
  AuthStatus,
  BrokerageStatus,
  IBAuthOptions,
  TickleResult,
  TickOutcome,
  ValidateResult,
} from "./types";
