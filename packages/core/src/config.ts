import * as v from "valibot";
import { IbauthError } from "./errors";
import { type Logger, silentLogger } from "./log";
import type { EndpointLimits } from "./pacing-table";
import { memoryStore, type SessionStore } from "./store";
import type { IBAuthOAuth1Options, IBAuthOptions, OAuth1Credentials } from "./types";

export const VERSION = "0.1.0";

/** The hosts IBKR serves the Web API on. `N.api.ibkr.com` are the numbered hosts ibind suggests after a 410. */
export const VALID_DOMAINS: readonly string[] = [
  "api.ibkr.com",
  ...Array.from({ length: 7 }, (_, i) => `${i + 1}.api.ibkr.com`),
];

export const DEFAULT_IP_LOOKUP_URL = "https://api.ipify.org";

/** OAuth 1.0a credentials after validation (the keys are still PEM text or a CryptoKey). */
export interface ResolvedOAuth1 extends Required<Omit<OAuth1Credentials, "dhGenerator">> {
  dhGenerator: number;
}

/** Options after validation, with every default filled in. In OAuth 1.0a mode the OAuth 2.0 fields are empty. */
export interface ResolvedConfig {
  oauth1: ResolvedOAuth1 | undefined;
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

/**
 * An http(s) URL; plain http only to loopback, so a bearer never crosses a network unencrypted. Errors
 * never quote the value: a mistyped one may be a password or token pasted into the wrong setting.
 */
function validateUrl(field: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(
      field,
      `${field} is not a URL (expected https://host[:port][/path], or http:// to localhost)`,
    );
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

const OAUTH2_ONLY = [
  "clientId",
  "clientKeyId",
  "credential",
  "privateKey",
  "ip",
  "alternativeIps",
  "ipLookupUrl",
  "scope",
  "ssoLifetimeSec",
] as const;

const Common = {
  domain: v.optional(v.string()),
  baseUrl: v.optional(v.string()),
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
};

const Options = v.object({
  clientId: nonEmpty,
  clientKeyId: nonEmpty,
  credential: nonEmpty,
  privateKey: v.union([nonEmpty, v.custom<CryptoKey>(isCryptoKey)]),
  ip: v.optional(v.string()),
  alternativeIps: v.optional(v.array(v.string())),
  ipLookupUrl: v.optional(v.string()),
  scope: v.optional(nonEmpty),
  ssoLifetimeSec: v.optional(v.pipe(v.number(), v.integer(), v.minValue(60), v.maxValue(86_400))),
  ...Common,
});

const OAuth1Options = v.object({
  oauth1: v.object({
    consumerKey: nonEmpty,
    accessToken: nonEmpty,
    accessTokenSecret: v.pipe(nonEmpty, v.regex(/^[A-Za-z0-9+/=\s]+$/)),
    signatureKey: v.union([nonEmpty, v.custom<CryptoKey>(isCryptoKey)]),
    encryptionKey: nonEmpty,
    dhPrime: v.pipe(nonEmpty, v.regex(/^(0x)?[0-9a-fA-F]+$/)),
    dhGenerator: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2))),
    realm: v.optional(nonEmpty),
  }),
  ...Common,
});

/** One ERR_CONFIG naming every field at fault (missing or invalid), never a value. */
function invalidOptions(issues: v.BaseIssue<unknown>[], options: object): IbauthError {
  const fields = [
    ...new Set(issues.map((i) => (i.path ?? []).map((p) => String(p.key)).join(".") || "options")),
  ];
  const valueAt = (path: string) =>
    path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], options);
  const missing = fields.filter((f) => valueAt(f) === undefined);
  const invalid = fields.filter((f) => !missing.includes(f));
  const parts = [];
  if (missing.length) parts.push(`missing ${missing.join(", ")}`);
  if (invalid.length) parts.push(`invalid ${invalid.join(", ")}`);
  return configError(fields.join(", "), `IBAuth options: ${parts.join("; ")}`);
}

type CommonOutput = v.InferOutput<v.ObjectSchema<typeof Common, undefined>>;

/** The settings both modes share, with their defaults. */
function resolveCommon(o: CommonOutput, store: SessionStore | undefined) {
  const fetchImpl = (o.fetch as typeof fetch | undefined) ?? globalThis.fetch?.bind(globalThis);
  if (!fetchImpl) throw configError("fetch", "no global fetch in this runtime: pass options.fetch");
  return {
    domain: validateDomain(o.domain ?? "api.ibkr.com"),
    baseUrl: o.baseUrl === undefined ? undefined : validateBaseUrl(o.baseUrl),
    compete: o.compete ?? true,
    fetch: fetchImpl,
    // the caller's object itself: the parsed copy would drop its optional members (pacing)
    store: store ?? memoryStore(),
    logger: (o.logger as Logger | undefined) ?? silentLogger,
    now: (o.now as (() => number) | undefined) ?? Date.now,
    userAgent: o.userAgent ?? `ibauth-ts/${VERSION}`,
    timeoutMs: o.timeoutMs ?? 15_000,
    refreshMarginMs: o.refreshMarginMs ?? 5 * 60_000,
    retryAttempts: o.retry?.attempts ?? 3,
    retryBaseDelayMs: o.retry?.baseDelayMs ?? 500,
    sleep:
      (o.sleep as ((ms: number) => Promise<void>) | undefined) ??
      ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    endpointLimits: o.endpointLimits ?? {},
  };
}

function resolveOAuth1(options: IBAuthOAuth1Options): ResolvedConfig {
  for (const field of OAUTH2_ONLY)
    if ((options as unknown as Record<string, unknown>)[field] !== undefined)
      throw configError(field, `${field} is an OAuth 2.0 option: leave it out with oauth1`);
  const parsed = v.safeParse(OAuth1Options, options);
  if (!parsed.success) throw invalidOptions(parsed.issues, options);
  const { oauth1: c, ...common } = parsed.output;
  return {
    ...resolveCommon(common, options.store),
    oauth1: {
      ...c,
      signatureKey: c.signatureKey as string | CryptoKey,
      accessTokenSecret: c.accessTokenSecret.replace(/\s+/g, ""),
      dhPrime: c.dhPrime.replace(/^0x/i, "").toLowerCase(),
      dhGenerator: c.dhGenerator ?? 2,
      realm: c.realm ?? (c.consumerKey === "TESTCONS" ? "test_realm" : "limited_poa"),
    },
    clientId: "",
    clientKeyId: "",
    credential: "",
    privateKey: "",
    ip: undefined,
    alternativeIps: [],
    ipLookupUrl: "",
    scope: "",
    ssoLifetimeSec: 86_400,
  };
}

/** Validates options; a bad set fails with one ERR_CONFIG naming every field at fault (never its value when secret). */
export function resolveConfig(options: IBAuthOptions | IBAuthOAuth1Options): ResolvedConfig {
  if (typeof options !== "object" || options === null)
    throw configError("options", "IBAuth needs an options object");
  if ("oauth1" in options && options.oauth1 !== undefined) return resolveOAuth1(options);
  const parsed = v.safeParse(Options, options);
  if (!parsed.success) throw invalidOptions(parsed.issues, options);
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
  return {
    ...resolveCommon(o, options.store),
    oauth1: undefined,
    clientId: o.clientId,
    clientKeyId: o.clientKeyId,
    credential: o.credential,
    privateKey: o.privateKey as string | CryptoKey,
    ip: o.ip?.trim(),
    alternativeIps: (o.alternativeIps ?? []).map((a) => a.trim()),
    ipLookupUrl,
    scope: o.scope ?? "sso-sessions.write",
    ssoLifetimeSec: o.ssoLifetimeSec ?? 86_400,
  };
}

/** The origin every request goes to: `baseUrl` when set, else `https://<domain>`. */
export function originOf(config: Pick<ResolvedConfig, "baseUrl" | "domain">): string {
  return config.baseUrl ?? `https://${config.domain}`;
}
