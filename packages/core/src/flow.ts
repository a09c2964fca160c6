import * as v from "valibot";
import { signClientAssertion, signSsoAssertion } from "./assertions";
import { isIp } from "./config";
import { PATHS } from "./endpoints";
import { IbauthError, type IbauthStep } from "./errors";
import { type Http, requestJson, requestText, withRetry } from "./http";
import { accessTokenLifetimeMs } from "./lifetime";
import type { BrokerageStatus, TickleResult, ValidateResult } from "./types";

/** What the steps need besides HTTP: where to go, and how to keep what they learn out of error text. */
export interface FlowContext {
  http: Http;
  origin: string;
  /** Each signed assertion is registered as a secret, so it can never leak through IBKR's error text. */
  remember: (secret: string) => void;
}

/** OAuth 2.0's login steps also sign client assertions. */
export interface SigningContext extends FlowContext {
  clientId: string;
  kid: string;
  /** `exp − iat` of the sso-sessions JWT. */
  ssoLifetimeSec: number;
  key: () => Promise<CryptoKey>;
}

function parse<T>(step: IbauthStep, schema: v.GenericSchema<unknown, T>, data: unknown, what: string): T {
  const r = v.safeParse(schema, data);
  if (r.success) return r.output;
  throw new IbauthError(`IBKR's ${what} answer has an unexpected shape`, { code: "ERR_PROTOCOL", step });
}

const TokenResponse = v.object({
  access_token: v.pipe(v.string(), v.minLength(1)),
  expires_in: v.optional(v.union([v.number(), v.pipe(v.string(), v.transform(Number))])),
});

/** POST /oauth2/api/v1/token: a fresh client assertion buys an access token. */
export async function requestAccessToken(
  ctx: SigningContext,
  scope: string,
): Promise<{ token: string; expiresAt: number }> {
  return withRetry(ctx.http, "token", async () => {
    const now = ctx.http.now();
    const assertion = await signClientAssertion(await ctx.key(), {
      clientId: ctx.clientId,
      kid: ctx.kid,
      now,
    });
    ctx.remember(assertion);
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
      scope,
    }).toString();
    const data = await requestJson(ctx.http, {
      step: "token",
      method: "POST",
      url: ctx.origin + PATHS.token,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });
    const r = parse("token", TokenResponse, data, "token");
    ctx.remember(r.access_token);
    return { token: r.access_token, expiresAt: now + accessTokenLifetimeMs(r.expires_in) };
  });
}

/** GET <ipLookupUrl>: the public IP, as plain text. */
export async function lookupPublicIp(ctx: FlowContext, url: string): Promise<string> {
  return withRetry(ctx.http, "ip", async () => {
    const text = (await requestText(ctx.http, { step: "ip", method: "GET", url })).trim();
    if (!isIp(text)) {
      throw new IbauthError("the IP lookup did not answer with an IP address", {
        code: "ERR_PROTOCOL",
        step: "ip",
        hint: "ipLookupUrl must return the IP as plain text; or set the `ip` option",
      });
    }
    return text;
  });
}

const BearerResponse = v.object({ access_token: v.pipe(v.string(), v.minLength(1)) });

export interface BearerClaims {
  credential: string;
  ip: string;
  alternativeIps: string[];
}

/** Signs the sso-sessions JWT; needs the IP but not the access token, so a login signs it while the token request is out. */
export async function signBearerRequest(ctx: SigningContext, claims: BearerClaims): Promise<string> {
  const jwt = await signSsoAssertion(await ctx.key(), {
    clientId: ctx.clientId,
    kid: ctx.kid,
    now: ctx.http.now(),
    lifetimeSec: ctx.ssoLifetimeSec,
    ...claims,
  });
  ctx.remember(jwt);
  return jwt;
}

/**
 * POST /gw/api/v1/sso-sessions: the signed {credential, ip} JWT buys the SSO bearer token. The first
 * attempt may send a JWT signed ahead (`signed`); a retry signs anew.
 */
export async function requestBearer(
  ctx: SigningContext,
  o: BearerClaims & { accessToken: string; signed?: string },
): Promise<string> {
  let signed = o.signed;
  return withRetry(ctx.http, "bearer", async () => {
    const jwt = signed ?? (await signBearerRequest(ctx, o));
    signed = undefined;
    const data = await requestJson(ctx.http, {
      step: "bearer",
      method: "POST",
      url: ctx.origin + PATHS.ssoSessions,
      headers: { Authorization: `Bearer ${o.accessToken}`, "Content-Type": "application/jwt" },
      body: jwt,
    });
    const token = parse("bearer", BearerResponse, data, "sso-sessions").access_token;
    ctx.remember(token);
    return token;
  });
}

// IBKR's schemas mark most fields optional, and its answers carry nulls for some: both count as absent.
const bool = v.nullish(v.boolean(), false);

const Status = v.object({
  authenticated: bool,
  competing: bool,
  connected: bool,
  established: v.nullish(v.boolean()),
  message: v.nullish(v.string()),
});

function toStatus(s: v.InferOutput<typeof Status>): BrokerageStatus {
  return {
    authenticated: s.authenticated,
    competing: s.competing,
    connected: s.connected,
    ...(s.established == null ? {} : { established: s.established }),
    ...(s.message ? { message: s.message } : {}),
  };
}

/**
 * The Authorization value for one request: `Bearer …` (OAuth 2.0) or an OAuth 1.0a signature over the
 * method and URL. It is set when the request leaves the pacing queue, so a signature's timestamp is fresh.
 */
export type Authorize = (method: string, url: string) => Promise<string>;

const authorized = (auth: Authorize, method: string, url: string) => ({
  method,
  url,
  beforeSend: async (headers: Headers) => headers.set("Authorization", await auth(method, url)),
});

/** POST /iserver/auth/ssodh/init {publish, compete}: opens the brokerage (/iserver) session. */
export async function initBrokerage(
  ctx: FlowContext,
  auth: Authorize,
  compete: boolean,
): Promise<BrokerageStatus> {
  return withRetry(ctx.http, "init", async () => {
    const data = await requestJson(ctx.http, {
      step: "init",
      ...authorized(auth, "POST", ctx.origin + PATHS.ssodhInit),
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ publish: true, compete }),
    });
    return toStatus(parse("init", Status, data, "ssodh/init"));
  });
}

const Tickle = v.object({
  session: v.nullish(v.string(), ""),
  ssoExpires: v.nullish(v.number(), 0),
  userId: v.nullish(v.number()),
  error: v.nullish(v.string()),
  iserver: v.nullish(v.object({ authStatus: v.nullish(Status) })),
});

/** POST /v1/api/tickle: keeps the session alive and reports the brokerage status. Not retried: the next tick is the retry. */
export async function tickle(ctx: FlowContext, auth: Authorize): Promise<TickleResult> {
  const data = await requestJson(ctx.http, {
    step: "tickle",
    ...authorized(auth, "POST", ctx.origin + PATHS.tickle),
  });
  const t = parse("tickle", Tickle, data, "tickle");
  if (t.error) {
    // IBKR's documented "accepted but not processed" answer: a 200 that did nothing.
    throw new IbauthError("IBKR accepted the tickle but did not process it", {
      code: "ERR_HTTP",
      step: "tickle",
      status: 200,
      ibkrMessage: ctx.http.redact(t.error),
    });
  }
  if (t.session) ctx.remember(t.session);
  const status = toStatus(
    t.iserver?.authStatus ?? { authenticated: false, competing: false, connected: false },
  );
  return {
    ...status,
    session: t.session,
    ssoExpires: t.ssoExpires,
    ...(t.userId == null ? {} : { userId: t.userId }),
  };
}

const Validate = v.object({
  RESULT: v.nullish(v.boolean()),
  USER_ID: v.nullish(v.number()),
  EXPIRES: v.nullish(v.number()),
  LOGIN_TYPE: v.nullish(v.number()),
  loginType: v.nullish(v.number()),
  region: v.nullish(v.string()),
});

/** GET /v1/api/sso/validate. */
export async function validateSso(ctx: FlowContext, auth: Authorize): Promise<ValidateResult> {
  const data = await requestJson(ctx.http, {
    step: "validate",
    ...authorized(auth, "GET", ctx.origin + PATHS.validate),
  });
  const r = parse("validate", Validate, data, "sso/validate");
  const loginType = r.LOGIN_TYPE ?? r.loginType;
  return {
    valid: r.RESULT === true,
    ...(r.USER_ID == null ? {} : { userId: r.USER_ID }),
    ...(r.EXPIRES == null ? {} : { expiresMs: r.EXPIRES }),
    ...(loginType == null ? {} : { paper: loginType === 2 }),
    ...(r.region == null ? {} : { region: r.region }),
  };
}

/** POST /v1/api/logout. Any 2xx is a logout, whatever its body (IBKR documents `{"status":true}`; empty and non-JSON bodies happen). */
export async function logout(ctx: FlowContext, auth: Authorize): Promise<void> {
  await requestText(ctx.http, { step: "logout", ...authorized(auth, "POST", ctx.origin + PATHS.logout) });
}
