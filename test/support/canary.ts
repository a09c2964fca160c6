// Leak detection: a logger that keeps every line at every level, and a scan of any text the SDK
// exposes (logs, status(), error messages and JSON, store keys) for secret values.
import type { Logger } from "@ibauth/core";

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  fields: Record<string, unknown>;
  msg?: string;
}

export interface RecordingLogger extends Logger {
  lines: LogLine[];
}

export function recordingLogger(): RecordingLogger {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine["level"]) =>
    (fields: Record<string, unknown>, msg?: string): void => {
      lines.push({ level, fields, msg });
    };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Serialises anything, errors included (message, stack, cause and own fields), for a leak scan. */
export function exposeText(value: unknown): string {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > 8) return "…";
    if (v instanceof Error) {
      const own: Record<string, unknown> = {};
      for (const key of Object.getOwnPropertyNames(v))
        own[key] = (v as unknown as Record<string, unknown>)[key];
      const toJSON = (v as { toJSON?: unknown }).toJSON;
      const json = typeof toJSON === "function" ? toJSON.call(v) : undefined;
      return walk({ ...own, string: String(v), json, cause: v.cause }, depth + 1);
    }
    if (typeof v === "object" && v !== null) {
      if (seen.has(v)) return "[circular]";
      seen.add(v);
      if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, depth + 1)]));
    }
    return typeof v === "bigint" || typeof v === "function" || typeof v === "symbol" ? String(v) : v;
  };
  return JSON.stringify(walk(value, 0)) ?? String(value);
}

/** Strings that identify a PEM private key if any of them is exposed: the body and each line of it. */
export function pemCanaries(pem: string): string[] {
  const lines = pem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("-----"));
  return [lines.join(""), ...lines.filter((l) => l.length >= 32)];
}

/** Names each secret found in each exposed text; empty when nothing leaked. */
export function findLeaks(secrets: Map<string, string>, exposed: Map<string, string>): string[] {
  const leaks: string[] = [];
  for (const [where, text] of exposed) {
    for (const [name, secret] of secrets) {
      if (secret.length >= 8 && text.includes(secret)) leaks.push(`${name} in ${where}`);
    }
  }
  return leaks;
}
