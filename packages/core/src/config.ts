import * as v from "valibot";
import { IbauthError } from "./errors";
import { type Logger, silentLogger } from "./log";
import type { EndpointLimits } from "./pacing-table";
import { memoryStore, type SessionStore } from "./store";
import type { IBAuthOptions } from "./types";

export const VERSION = "0.1.0";

/** The hosts IBKR serves the Web API on. `N.api.ibkr.com` are the numbered hosts ibind suggests after a 410. */
export const VALID_DOMAINS: readonly string[] = [
  "api.ibkr.com",
  ...Array.from({ length: 7 }, (_, i) => `${i + 1}.api.ibkr.com`),
];

export const DEFAULT_IP_LOOKUP_URL = "https://api.ipify.org";

/** Options after validation, with every default filled in. */
export interface ResolvedConfig {
  clientId: string;
  clientKeyId: string;
  credential: string;
  privateKey: string | CryptoKey;
  domain: string;
  baseUrl: string | undefined;
  ip: string | undefined;
  alternativeIps: string[];
  ipLookupUrl: string;
  scope: string;
  compete: boolean;
  fetch: typeof fetch;
  store: SessionStore;
  logger: Logger;
  now: () => number;
  userAgent: string;
  timeoutMs: number;
  refreshMarginMs: number;
  retryAttempts: number;
  retryBaseDelayMs: number;
  ssoLifetimeSec: number;
  sleep: (ms: number) => Promise<void>;
  endpointLimits: EndpointLimits;
}

function configError(field: string, message: string): IbauthError {
  return new IbauthError(message, { code: "ERR_CONFIG", step: "config", field });
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** An IPv4 dotted quad or an IPv6 literal (checked by the URL parser, which knows every IPv6 form). */
export function isIp(value: string): boolean {
  if (IPV4.test(value)) return true;
  if (!value.includes(":") || /[^0-9a-fA-F:.]/.test(value)) return false;
  try {
    return new URL(`http://[${value}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

export function validateDomain(domain: string): string {
  const d = domain.trim().toLowerCase();
  if (!VALID_DOMAINS.includes(d)) {
    throw configError(
      "domain",
      `domain "${domain}" is not an IBKR Web API host; use api.ibkr.com or 1.api.ibkr.com … 7.api.ibkr.com`,
    );
  }
  return d;
}

/** An http(s) URL; plain http only to loopback, so a bearer never crosses a network unencrypted. */
function validateUrl(field: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(field, `${field} "${value}" is not a URL`);
  }
  // fetch would drop or refuse them, and they would sit in logs and status next to the origin: refuse them.
  if (url.username || url.password) {
    throw configError(
      field,
      `${field} must not carry credentials (user:password@host); put a relay's credentials in a custom fetch instead`,
    );
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.hostname))) {
    throw configError(
      field,
      `${field} must use https (plain http is allowed only for localhost / 127.0.0.1 / [::1])`,
    );
  }
  return url;
}

export function validateBaseUrl(value: string): string {
  const url = validateUrl("baseUrl", value);
  if (url.search || url.hash) throw configError("baseUrl", "baseUrl must not carry a query or fragment");
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

const nonEmpty = v.pipe(v.string(), v.trim(), v.minLength(1));
const fn = v.custom<(...args: never[]) => unknown>((x) => typeof x === "function");
const isCryptoKey = (x: unknown): boolean =>
  typeof x === "object" && x !== null && "algorithm" in x && "type" in x && "usages" in x;

const Options = v.object({
  clientId: nonEmpty,
  clientKeyId: nonEmpty,
  credential: nonEmpty,
  privateKey: v.union([nonEmpty, v.custom<CryptoKey>(isCryptoKey)]),
  domain: v.optional(v.string()),
  baseUrl: v.optional(v.string()),
  ip: v.optional(v.string()),
  alternativeIps: v.optional(v.array(v.string())),
  ipLookupUrl: v.optional(v.string()),
  scope: v.optional(nonEmpty),
  compete: v.optional(v.boolean()),
  fetch: v.optional(fn),
  store: v.optional(v.object({ get: fn, set: fn, delete: fn })),
  logger: v.optional(v.object({ debug: fn, info: fn, warn: fn, error: fn })),
  now: v.optional(fn),
  userAgent: v.optional(nonEmpty),
  timeoutMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  refreshMarginMs: v.optional(v.pipe(v.number(), v.minValue(0))),
  retry: v.optional(
    v.object({
      attempts: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10))),
      baseDelayMs: v.optional(v.pipe(v.number(), v.minValue(0))),
    }),
  ),
  ssoLifetimeSec: v.optional(v.pipe(v.number(), v.integer(), v.minValue(60), v.maxValue(86_400))),
  sleep: v.optional(fn),
  endpointLimits: v.optional(
    v.record(
      v.string(),
      v.nullable(
        v.object({
          requests: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
          perMs: v.optional(v.pipe(v.number(), v.minValue(1))),
          concurrent: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
        }),
      ),
    ),
  ),
});

/** Validates options; a bad set fails with one ERR_CONFIG naming every field at fault (never its value when secret). */
export function resolveConfig(options: IBAuthOptions): ResolvedConfig {
  if (typeof options !== "object" || options === null)
    throw configError("options", "IBAuth needs an options object");
  const parsed = v.safeParse(Options, options);
  if (!parsed.success) {
    const fields = [
      ...new Set(parsed.issues.map((i) => (i.path ?? []).map((p) => String(p.key)).join(".") || "options")),
    ];
    const missing = fields.filter((f) => (options as unknown as Record<string, unknown>)[f] === undefined);
    const invalid = fields.filter((f) => !missing.includes(f));
    const parts = [];
    if (missing.length) parts.push(`missing ${missing.join(", ")}`);
    if (invalid.length) parts.push(`invalid ${invalid.join(", ")}`);
    throw configError(fields.join(", "), `IBAuth options: ${parts.join("; ")}`);
  }
  const o = parsed.output;
  for (const [field, ip] of [
    ["ip", o.ip],
    ...(o.alternativeIps ?? []).map((a) => ["alternativeIps", a]),
  ] as const) {
    if (ip !== undefined && !isIp(ip.trim()))
      throw configError(field, `${field}: "${ip}" is not an IPv4 or IPv6 address`);
  }
  const ipLookupUrl = o.ipLookupUrl ?? DEFAULT_IP_LOOKUP_URL;
  validateUrl("ipLookupUrl", ipLookupUrl);
  const fetchImpl = (o.fetch as typeof fetch | undefined) ?? globalThis.fetch?.bind(globalThis);
  if (!fetchImpl) throw configError("fetch", "no global fetch in this runtime: pass options.fetch");
  return {
    clientId: o.clientId,
    clientKeyId: o.clientKeyId,
    credential: o.credential,
    privateKey: o.privateKey as string | CryptoKey,
    domain: validateDomain(o.domain ?? "api.ibkr.com"),
    baseUrl: o.baseUrl === undefined ? undefined : validateBaseUrl(o.baseUrl),
    ip: o.ip?.trim(),
    alternativeIps: (o.alternativeIps ?? []).map((a) => a.trim()),
    ipLookupUrl,
    scope: o.scope ?? "sso-sessions.write",
    compete: o.compete ?? true,
    fetch: fetchImpl,
    // the caller's object itself: the parsed copy would drop its optional members (pacing)
    store: options.store ?? memoryStore(),
    logger: (o.logger as Logger | undefined) ?? silentLogger,
    now: (o.now as (() => number) | undefined) ?? Date.now,
    userAgent: o.userAgent ?? `ibauth-ts/${VERSION}`,
    timeoutMs: o.timeoutMs ?? 15_000,
    refreshMarginMs: o.refreshMarginMs ?? 5 * 60_000,
    retryAttempts: o.retry?.attempts ?? 3,
    retryBaseDelayMs: o.retry?.baseDelayMs ?? 500,
    ssoLifetimeSec: o.ssoLifetimeSec ?? 86_400,
    sleep:
      (o.sleep as ((ms: number) => Promise<void>) | undefined) ??
      ((ms) => new Promise((r) => setTimeout(r, ms))),
    endpointLimits: o.endpointLimits ?? {},
  };
}

/** The origin every request goes to: `baseUrl` when set, else `https://<domain>`. */
export function originOf(config: Pick<ResolvedConfig, "baseUrl" | "domain">): string {
  return config.baseUrl ?? `https://${config.domain}`;
}
