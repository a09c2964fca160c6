import { history, iserverAccounts, portfolioAccounts, portfolioSummary } from "./accounts.js";
import { authStatus, hmdsInit, logout, reauthenticate, ssodhInit, tickle, validate } from "./brokerage.js";
import type { ApiCall, Call, Env } from "./context.js";
import { isOauth1, oauth1Session } from "./oauth1.js";
import { apiError, json } from "./responses.js";
import { bearerOf } from "./sso.js";
import type { SsoSession } from "./state.js";

type Handler = (call: ApiCall, env: Env) => Response | Promise<Response>;

const GET_POST = ["GET", "POST"];
/** Routes under /v1/api. Tickle, auth/status and ssodh/init accept GET and POST, as IBKR's own material uses both (§10.9). */
const ROUTES: Record<string, { methods: string[]; handler: Handler }> = {
  "/tickle": { methods: GET_POST, handler: tickle },
  // GET in the spec and in every sample
  "/sso/validate": { methods: ["GET"], handler: validate },
  "/iserver/auth/ssodh/init": { methods: GET_POST, handler: ssodhInit },
  "/iserver/auth/status": { methods: GET_POST, handler: (c, e) => json(authStatus(c.session, e)) },
  "/iserver/reauthenticate": { methods: GET_POST, handler: reauthenticate },
  "/logout": { methods: ["POST"], handler: logout },
  "/hmds/auth/init": { methods: ["POST"], handler: hmdsInit },
  "/iserver/accounts": { methods: ["GET"], handler: iserverAccounts },
  "/portfolio/accounts": { methods: ["GET"], handler: portfolioAccounts },
  "/portfolio/subaccounts": { methods: ["GET"], handler: portfolioAccounts },
  "/iserver/marketdata/history": { methods: ["GET"], handler: history },
};

/** /iserver paths that work without a brokerage session (they are how one gets one). */
const NO_BRIDGE_NEEDED = new Set([
  "/iserver/auth/ssodh/init",
  "/iserver/auth/status",
  "/iserver/reauthenticate",
]);

/** The session an OAuth 2.0 bearer (IP-bound) or an OAuth 1.0a signature (not IP-bound) belongs to. */
async function sessionOf(call: Call, env: Env): Promise<SsoSession | Response> {
  if (isOauth1(call.request)) return oauth1Session(call, env);
  const bearer = bearerOf(call.request);
  const session = bearer ? env.state.live(bearer) : undefined;
  // wrong IP and dead sessions look the same to the caller: 401 (IBKR-MAIL)
  return session?.ips.has(call.ip) ? session : apiError(401, "Unauthorized");
}

/** Everything under /v1/api: bearer or signature, IP binding, the method, pacing, idle timer, then the route. */
export async function apiEndpoint(call: Call, env: Env): Promise<Response> {
  const session = await sessionOf(call, env);
  if (session instanceof Response) return session;
  // The router refuses a wrong method before the request reaches pacing: a 405 costs no pacing slot and
  // cannot mask itself as 429 (IBKR is silent; a router answering before the service is the usual order).
  const route = ROUTES[call.path.slice("/v1/api".length)];
  if (route && !route.methods.includes(call.method)) return apiError(405, "Method Not Allowed");
  const admitted = env.pacer?.take(session.username, call.path, call.ip, env.clock.now());
  if (admitted && "wait" in admitted)
    return apiError(429, "Too many requests", { "retry-after": String(Math.ceil(admitted.wait / 1000)) });
  try {
    return await routed(call, env, session);
  } finally {
    if (admitted) admitted.release();
  }
}

async function routed(call: Call, env: Env, session: ApiCall["session"]): Promise<Response> {
  session.lastActivity = env.clock.now();
  const sub = call.path.slice("/v1/api".length);
  const apiCall: ApiCall = { ...call, session };
  if (sub.startsWith("/iserver/") && !NO_BRIDGE_NEEDED.has(sub)) {
    const bridged =
      env.state.holds(session) && env.clock.now() - session.bridgeAt >= env.settings.bridgeDelayMs;
    if (!bridged) return apiError(400, "Bad Request: no bridge");
  }
  const summary = /^\/portfolio\/([^/]+)\/summary$/.exec(sub);
  if (summary && call.method === "GET")
    return portfolioSummary(apiCall, env, decodeURIComponent(summary[1] as string));
  const route = ROUTES[sub];
  if (!route) return apiError(404, "Not Found");
  return route.handler(apiCall, env);
}
