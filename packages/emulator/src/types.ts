/** A client registered with the emulator, as in IBKR's Self-Service portal. */
export interface EmulatorClient {
  clientId: string;
  /** kid -> RSA public key (SPKI PEM). IBKR's samples use kid "main" for a single key. */
  keys: Record<string, string>;
  /** IBKR usernames this client may open sessions for (the `credential` claim). */
  credentials: string[];
  /** Scopes the client may request. Default: {@link DEFAULT_SCOPES}. */
  scopes?: string[];
  /** username -> account ids. Default: one paper account `DU` + 7 digits derived from the username. */
  accounts?: Record<string, string[]>;
}

/** An OAuth 1.0a first-party consumer, as IBKR's Self-Service Portal registers it (protocol §7.1). */
export interface EmulatorOauth1Consumer {
  /** 9 characters chosen by the user; IBKR's test consumer is TESTCONS. */
  consumerKey: string;
  accessToken: string;
  /** The access-token secret in plaintext base64, as IBKR holds it (the user gets it RSA-encrypted). */
  accessTokenSecret: string;
  /** SPKI PEM: verifies the RSA-SHA256 signature of the live-session-token request. */
  signaturePublicKey: string;
  /** SPKI PEM: the key the portal encrypted the access-token secret with. */
  encryptionPublicKey: string;
  /** The Diffie-Hellman prime as hex (the portal's dhparam.pem). */
  dhPrime: string;
  /** Default 2 ("IB always uses 2"). */
  dhGenerator?: number;
  /** Default "limited_poa" ("test_realm" for TESTCONS). */
  realm?: string;
  /** The IBKR username the consumer's sessions belong to. */
  credential: string;
}

/** One row of the pacing table: at most `requests` arrivals in any `perMs`, and/or `concurrent` in flight. */
export interface EndpointLimit {
  requests?: number;
  perMs?: number;
  concurrent?: number;
}

export interface RateLimitOptions {
  /** Requests per rolling second per authenticated username on /v1/api (IBKR: 50; the CP Gateway: 10). */
  userPerSecond?: number;
  /** Per-endpoint limits per username, keyed by exact path or a prefix ending in "*". Default: IBKR's table (DEFAULT_ENDPOINT_LIMITS). */
  endpoints?: Record<string, EndpointLimit>;
  /**
   * "rolling-window" (default, the strict reading of IBKR's docs): at most N arrivals in any window.
   * "token-bucket": the older, kinder model (a full bucket plus its refill lets about twice the rate
   * through in one second); for comparison only: a client that passes only under it will meet 429s.
   */
  model?: "rolling-window" | "token-bucket";
  /** How long a caller IP stays in the penalty box after a 429 (IBKR: 10 min; older docs: 15 min). */
  penaltyMs?: number;
}

export interface EmulatorOptions {
  /** OAuth 2.0 clients. May be empty when oauth1Consumers are given. */
  clients?: EmulatorClient[];
  /** OAuth 1.0a first-party consumers. */
  oauth1Consumers?: EmulatorOauth1Consumer[];
  /** The IP the emulator "sees" for callers and serves at GET /__emulator/ip. Default "203.0.113.10". */
  egressIp?: string;
  /** Injected clock (ms since epoch). The emulator's time is now() + the offset added by advance(). */
  now?: () => number;
  /** Delay added to every request, for benchmarks. Default 0. */
  latencyMs?: number;
  /** Idle timeout of an SSO/brokerage session. Default 360 000 (about 6 min, protocol §4). */
  idleTimeoutMs?: number;
  /** Hard cap on a session's life. Default 86 400 000 (24 h). */
  maxSessionMs?: number;
  /** Daily reset at this UTC hour (default 5 = 00:00/01:00 New York), or false for none. */
  dailyReset?: { hourUtc: number } | false;
  /** Lifetime of issued access tokens in seconds (JWT exp - iat). Default 86 400; expires_in is this - 1. */
  accessTokenTtlSec?: number;
  /**
   * Lifetime of OAuth 1.0a live session tokens in seconds (`live_session_token_expiration` - now); requests
   * signed with an expired one get 401. Default 86 400: IBKR's "valid 24 h from" its computation (§7.3).
   */
  lstLifetimeSec?: number;
  /**
   * Largest accepted client-assertion lifetime (exp - iat) in seconds. Default 600: the longest a client
   * known to work sends (ibauth 0.0.6 signs iat = now, exp = now + 600); IBKR's samples use 30 s
   * (iat − 10, exp + 20) and ibind 70 s.
   */
  maxAssertionLifetimeSec?: number;
  /** How far in the future `iat` may be, in seconds. Default 10: the margin IBKR's samples build in (iat − 10 s). */
  clockSkewSec?: number;
  /**
   * Largest accepted sso-sessions JWT lifetime (exp - iat) in seconds. Default 86 400, as every IBKR
   * sample signs it. The JWT's `exp` also ends the session it creates (IBKR: unknown; the strict reading).
   */
  maxSsoLifetimeSec?: number;
  /** Does a new sso-sessions call for a username invalidate that user's earlier bearers? Unknown at IBKR (§10.2). Default false. */
  revokeEarlierBearers?: boolean;
  /** After ssodh/init, /iserver/* still answers "no bridge" for this long (IBKR advises waiting 1-5 s, §3.4). Default 0. */
  bridgeDelayMs?: number;
  /** Pacing (protocol §0.6), or false to disable. */
  rateLimits?: RateLimitOptions | false;
  /** Request-log entries kept (oldest dropped first; counts() stays exact). Default 10 000. */
  maxLogEntries?: number;
  /** Answer CORS preflights and add Access-Control-Allow-* headers (for browser tests). Default false. */
  cors?: boolean;
}

export type FaultKind = "status" | "reset" | "html" | "invalid-json" | "hang";

export interface FaultSpec {
  /** Exact path, a prefix ending in "*", or a RegExp, matched against the URL path (no query). */
  path: string | RegExp;
  method?: string;
  /** How many matching requests fail. Default 1. */
  count?: number;
  kind?: FaultKind;
  /** Status for kinds "status" (default 500) and "html" (default 503). */
  status?: number;
  /** Body for kind "status": a string is sent as is, anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Delay before the fault takes effect. */
  delayMs?: number;
}

export interface RequestLogEntry {
  /** Emulator time (ms) when the request arrived. */
  at: number;
  method: string;
  /** URL path only: no query, headers or bodies are ever logged. */
  path: string;
  /** Response status; 0 when the connection was reset or the caller aborted. */
  status: number;
  /** The caller IP the emulator attributed the request to. */
  ip: string;
}

export const DEFAULT_SCOPES = [
  "sso-sessions.write",
  "sso-sessions.read",
  "sso-browser-sessions.write",
  "echo.read",
  "echo.write",
  "accounts.read",
  "accounts.write",
];
