/**
 * A pino-compatible logger: `logger.info({ step: "token", ms: 12 }, "access token issued")`.
 * The SDK only ever passes fields it built itself (steps, statuses, timings, paths); never headers,
 * bodies, tokens, keys or the credential.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, msg?: string): void;
  info(fields: Record<string, unknown>, msg?: string): void;
  warn(fields: Record<string, unknown>, msg?: string): void;
  error(fields: Record<string, unknown>, msg?: string): void;
}

export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

const noop = () => {};

/** The default: says nothing. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface ConsoleLoggerOptions {
  level?: LogLevel;
  /** One JSON object per line (for log collectors) instead of `LEVEL msg key=value`. */
  json?: boolean;
  /** Where lines go; defaults to `console.error`, so stdout stays free for a CLI's output. */
  write?: (line: string) => void;
  now?: () => number;
}

/** A small logger on `console`, for runtimes without pino. Works in Node, Deno, workerd and browsers. */
export function consoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const min = ORDER[options.level ?? "info"];
  const write = options.write ?? ((line: string) => console.error(line));
  const now = options.now ?? Date.now;
  const emit = (level: Exclude<LogLevel, "silent">) => (fields: Record<string, unknown>, msg?: string) => {
    if (ORDER[level] < min) return;
    if (options.json) {
      write(JSON.stringify({ level, time: now(), ...fields, msg }));
      return;
    }
    const kv = Object.entries(fields)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
      .join(" ");
    write(`${level.toUpperCase().padEnd(5)} ${msg ?? ""}${kv ? ` ${kv}` : ""}`);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
