import type { Logger } from "./log";
import type { EndpointLimits } from "./pacing-table";
import type { SessionStore } from "./store";

export interface IBAuthOptions {
  /** OAuth 2.0 client id issued by IBKR. */
  clientId: string;
  /** The `kid` of the registered public key; IBKR calls the first one `main`. */
  clientKeyId: string;
  /** The IBKR username the session is for (the paper username for a paper account). */
  credential: string;
  /** RSA private key: PEM (PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE KEY") or a CryptoKey for RS256. */
  privateKey: string | CryptoKey;
  /** `api.ibkr.com` (default) or `1.api.ibkr.com` … `7.api.ibkr.com`. */
  domain?: string;
  /** Overrides the origin (`https://<domain>`): the emulator, or a relay. Plain http only for loopback hosts. */
  baseUrl?: string;
  /** The public IP to claim. When absent it is looked up at `ipLookupUrl` (in parallel with the token request). */
  ip?: string;
  /** More IPs the session may be used from (IBKR's `alternativeIps` claim). */
  alternativeIps?: string[];
  /** A plain-text "what is my IP" endpoint. Default `https://api.ipify.org`. */
  ipLookupUrl?: string;
  /** OAuth scope for the access token. Default `sso-sessions.write`. */
  scope?: string;
  /** Ask IBKR to disconnect other brokerage sessions of this user at ssodh/init. Default true. */
  compete?: boolean;
  fetch?: typeof fetch;
  store?: SessionStore;
  logger?: Logger;
  /** Clock in epoch ms; injected by tests and simulations. */
  now?: () => number;
  /** Sent on every request; IBKR's firewall rejects an empty one. Default `ibauth-ts/<version>`. */
  userAgent?: string;
  /** Per-request timeout. Default 15 000 ms. */
  timeoutMs?: number;
  /** Refresh the access token this long before it expires. Default 5 minutes. */
  refreshMarginMs?: number;
  /** Transient-failure retries per login step (5xx, timeouts, resets). Default `{ attempts: 3, baseDelayMs: 500 }`. */
  retry?: { attempts?: number; baseDelayMs?: number };
  /**
   * `exp − iat` of the signed sso-sessions JWT, in seconds. Default 86 400, as IBKR's samples, its Postman
   * collection, ibind and ibauth ≥ 0.1.3 sign it ("it authorises a session").
   */
  ssoLifetimeSec?: number;
  /** How the SDK waits (retries, backoff). Tests inject a fast one. Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Rows added to (or, as `null`, removed from) IBKR's pacing table, keyed by path from `/v1/api` on
   * (exact, or a prefix ending in "*"). A request over its row waits its turn; it is never refused.
   * Default: IBKR_ENDPOINT_LIMITS.
   */
  endpointLimits?: EndpointLimits;
}

/**
 * OAuth 1.0a first-party credentials from IBKR's Self-Service Portal (protocol notes §7.1). Every field
 * but consumerKey, dhPrime and realm is a secret: it never reaches a log, an error or status().
 */
export interface OAuth1Credentials {
  /** The 9-character consumer key you chose (IBKR's test consumer: TESTCONS). */
  consumerKey: string;
  /** The access token the portal shows. */
  accessToken: string;
  /** The access-token secret as the portal gives it: base64, encrypted with your encryption key. */
  accessTokenSecret: string;
  /** Signs the live-session-token request (RSA-SHA256): PEM (PKCS#8 or PKCS#1) or an RS256 CryptoKey. */
  signatureKey: string | CryptoKey;
  /** Decrypts the access-token secret: PEM (PKCS#8 or PKCS#1). */
  encryptionKey: string;
  /** The Diffie-Hellman prime as hex (from the portal's dhparam.pem). */
  dhPrime: string;
  /** Default 2 ("IB always uses 2"). */
  dhGenerator?: number;
  /** Default "limited_poa"; "test_realm" when consumerKey is TESTCONS. */
  realm?: string;
}

/** `new IBAuth({ oauth1: {...} })`: OAuth 1.0a instead of OAuth 2.0 (no clientId, credential or privateKey). */
export interface IBAuthOAuth1Options
  extends Omit<
    IBAuthOptions,
    | "clientId"
    | "clientKeyId"
    | "credential"
    | "privateKey"
    | "ip"
    | "alternativeIps"
    | "ipLookupUrl"
    | "scope"
  > {
  oauth1: OAuth1Credentials;
}

/** What IBKR says about the brokerage (/iserver) session. */
export interface BrokerageStatus {
  authenticated: boolean;
  competing: boolean;
  connected: boolean;
  established?: boolean;
  message?: string;
}

/** The parsed answer of /tickle. `session` is the WebSocket `api` cookie: treat it as a secret. */
export interface TickleResult extends BrokerageStatus {
  session: string;
  /** Milliseconds until the SSO session expires if idle. */
  ssoExpires: number;
  userId?: number;
}

/** The parsed answer of /sso/validate (a subset; `raw` is not kept to keep the credential out). */
export interface ValidateResult {
  valid: boolean;
  userId?: number;
  /** Milliseconds until the SSO session expires if idle. */
  expiresMs?: number;
  paper?: boolean;
  region?: string;
}

export type AuthState =
  | "idle" // nothing held yet
  | "connecting" // a login or heal is in flight
  | "connected" // bearer and brokerage session believed good
  | "degraded" // the last attempt failed; the next call or tick heals
  | "closed"; // logged out

/** A snapshot with no secrets in it: safe to log, serve from /health, or print. */
export interface AuthStatus {
  state: AuthState;
  origin: string;
  domain: string;
  /** The IP claimed in the current bearer. */
  ip?: string;
  accessTokenExpiresAt?: number;
  /** When the session key was obtained: the SSO bearer (OAuth 2.0) or the live session token (OAuth 1.0a). */
  bearerCreatedAt?: number;
  /** OAuth 1.0a: when IBKR says the live session token expires. */
  liveSessionTokenExpiresAt?: number;
  brokerage?: BrokerageStatus;
  lastTickleAt?: number;
  /** Milliseconds until IBKR's idle timeout, as of the last tickle. */
  ssoExpiresMs?: number;
  rateLimitedUntil?: number;
  lastError?: { code: string; step: string; status?: number; message: string; hint?: string; at: number };
  counters: {
    accessTokens: number;
    bearers: number;
    inits: number;
    tickles: number;
    heals: number;
    rateLimited: number;
  };
}

/** What one keepalive tick did. */
export interface TickOutcome {
  action: "tickled" | "reinit" | "relogin" | "login" | "skipped";
  status: AuthStatus;
}
