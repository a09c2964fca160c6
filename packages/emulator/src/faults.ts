import type { FaultKind, FaultSpec } from "./types.js";

export interface ArmedFault {
  path: string | RegExp;
  method?: string;
  remaining: number;
  kind: FaultKind;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs: number;
}

const KINDS: FaultKind[] = ["status", "reset", "html", "invalid-json", "hang"];

function matches(pattern: string | RegExp, path: string): boolean {
  if (pattern instanceof RegExp) return pattern.test(path);
  if (pattern.endsWith("*")) return path.startsWith(pattern.slice(0, -1));
  return path === pattern;
}

/** Faults armed by failNext(), consumed in the order they were armed. */
export class Faults {
  #armed: ArmedFault[] = [];

  add(spec: FaultSpec): void {
    if (typeof spec?.path !== "string" && !(spec?.path instanceof RegExp))
      throw new TypeError("failNext needs `path`: an exact path, a prefix ending in *, or a RegExp");
    const kind = spec.kind ?? "status";
    if (!KINDS.includes(kind)) throw new TypeError(`failNext kind must be one of ${KINDS.join(", ")}`);
    const count = spec.count ?? 1;
    if (!Number.isInteger(count) || count < 1)
      throw new TypeError("failNext count must be a positive integer");
    this.#armed.push({
      path: spec.path,
      method: spec.method?.toUpperCase(),
      remaining: count,
      kind,
      status: spec.status,
      body: spec.body,
      headers: spec.headers,
      delayMs: spec.delayMs ?? 0,
    });
  }

  /** The first armed fault matching this request, consumed once. */
  take(method: string, path: string): ArmedFault | undefined {
    const i = this.#armed.findIndex((f) => (!f.method || f.method === method) && matches(f.path, path));
    if (i < 0) return undefined;
    const f = this.#armed[i] as ArmedFault;
    if (--f.remaining === 0) this.#armed.splice(i, 1);
    return f;
  }

  clear(): void {
    this.#armed = [];
  }

  pending(): { path: string; method?: string; kind: FaultKind; remaining: number }[] {
    return this.#armed.map((f) => ({
      path: String(f.path),
      method: f.method,
      kind: f.kind,
      remaining: f.remaining,
    }));
  }
}
