import { consoleLogger, type IBAuthOptions, type Logger, type LogLevel } from "@ibauth/core";

export interface CreateWorkerOptions {
  /**
   * How the Worker reaches IBKR (and the IP lookup): a fixed-IP egress relay, or the emulator in tests.
   * Default: the global fetch.
   */
  fetch?: typeof fetch;
  /** Default: JSON lines on the console at IBAUTH_LOG_LEVEL (info). */
  logger?: Logger;
  /** Clock in epoch ms. */
  now?: () => number;
  /** A fixed KV key for the session record instead of one derived from the configuration. */
  storeKey?: string;
  /** How long a login lease holds off other isolates. Default 60 000 ms. */
  leaseMs?: number;
  /** Wait between writing the lease and reading it back. Default 250 ms. */
  leaseSettleMs?: number;
  /** How often a healthy tick refreshes `lastTickleAt` in KV (0: never). Default 3 600 000 ms (24 writes/day). */
  heartbeatMs?: number;
  /** A 401 on a bearer younger than this points at the `ip` claim. Default 120 000 ms. */
  freshBearerMs?: number;
  /** Least time between two heal attempts from the proxy in one isolate. Default 30 000 ms. */
  healCooldownMs?: number;
  /** How long the proxy reuses the record it read from KV. Default 30 000 ms. */
  recordCacheMs?: number;
  /** Request bodies up to this size are buffered so a healed request can be replayed; larger ones stream. Default 1 MiB. */
  maxReplayBodyBytes?: number;
  /** Passed to the core as is. */
  auth?: Partial<
    Pick<
      IBAuthOptions,
      | "retry"
      | "timeoutMs"
      | "userAgent"
      | "refreshMarginMs"
      | "scope"
      | "compete"
      | "sleep"
      | "endpointLimits"
    >
  >;
  /** How the Worker waits (lease settle). Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

export interface WorkerSettings {
  fetch: typeof fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  storeKey: string | undefined;
  leaseMs: number;
  leaseSettleMs: number;
  heartbeatMs: number;
  freshBearerMs: number;
  healCooldownMs: number;
  recordCacheMs: number;
  maxReplayBodyBytes: number;
  auth: NonNullable<CreateWorkerOptions["auth"]>;
  logger: (env: { IBAUTH_LOG_LEVEL?: string }) => Logger;
}

const LEVELS = new Set(["debug", "info", "warn", "error", "silent"]);

export function resolveSettings(options: CreateWorkerOptions): WorkerSettings {
  const loggers = new Map<string, Logger>();
  return {
    // Looked up per call, not captured: tests and runtimes may replace the global.
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    now: options.now ?? Date.now,
    sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    storeKey: options.storeKey,
    leaseMs: options.leaseMs ?? 60_000,
    leaseSettleMs: options.leaseSettleMs ?? 250,
    heartbeatMs: options.heartbeatMs ?? 3_600_000,
    freshBearerMs: options.freshBearerMs ?? 120_000,
    healCooldownMs: options.healCooldownMs ?? 30_000,
    recordCacheMs: options.recordCacheMs ?? 30_000,
    maxReplayBodyBytes: options.maxReplayBodyBytes ?? 1024 * 1024,
    auth: options.auth ?? {},
    logger: (env) => {
      if (options.logger) return options.logger;
      const level = (LEVELS.has(env.IBAUTH_LOG_LEVEL ?? "") ? env.IBAUTH_LOG_LEVEL : "info") as LogLevel;
      let logger = loggers.get(level);
      if (!logger) {
        logger = consoleLogger({ level, json: true, write: (line) => console.log(line) });
        loggers.set(level, logger);
      }
      return logger;
    },
  };
}
