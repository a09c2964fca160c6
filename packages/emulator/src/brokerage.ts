import type { ApiCall, Env } from "./context.js";
import { apiError, json } from "./responses.js";
import type { SsoSession } from "./state.js";
import { bodyText } from "./wire.js";

/** The flat brokerageSessionStatus body (protocol §3.4, §3.6). */
export function authStatus(s: SsoSession, env: Env, message = ""): Record<string, unknown> {
  const authenticated = env.state.holds(s);
  const competing = !authenticated && env.state.competingFor(s);
  const { MAC, serverName, serverVersion } = env.serverInfo;
  return {
    authenticated,
    competing,
    connected: true,
    established: authenticated,
    message,
    fail: "",
    MAC,
    serverInfo: { serverName, serverVersion },
    hardware_info: `${serverName.slice(-8)}|${MAC}`,
  };
}

/** ssodh/init flags from the query or the JSON body (IBKR's Postman sends both; one sample uses GET). */
async function initFlags(call: ApiCall): Promise<{ publish?: unknown; compete?: unknown }> {
  let body: Record<string, unknown> = {};
  if (call.method === "POST") {
    try {
      const parsed = JSON.parse((await bodyText(call.request)) || "{}");
      if (parsed && typeof parsed === "object") body = parsed;
    } catch {
      // a non-JSON body counts as no flags, so publish is missing and the init fails like IBKR's 500
    }
  }
  const q = call.url.searchParams;
  const pick = (name: string) => (q.has(name) ? q.get(name) === "true" : body[name]);
  return { publish: pick("publish"), compete: pick("compete") };
}

/** /iserver/auth/ssodh/init: open the brokerage session; `compete` takes it from another holder. */
export async function ssodhInit(call: ApiCall, env: Env): Promise<Response> {
  const { publish, compete } = await initFlags(call);
  // the docs: always send publish true, otherwise the answer is 500
  if (publish !== true) return apiError(500, "publish must be true");
  const s = call.session;
  if (!env.state.holds(s)) {
    if (env.state.competingFor(s) && compete !== true)
      return json(
        authStatus(s, env, "another session holds the brokerage session: init with compete true to take it"),
      );
    env.state.takeBrokerage(s);
  }
  return json(authStatus(s, env));
}

/** /tickle: keep-alive; `session` is the WebSocket cookie value (protocol §3.5). */
export function tickle(call: ApiCall, env: Env): Response {
  const s = call.session;
  return json({
    session: s.id,
    ssoExpires: env.state.msLeft(s),
    collission: false,
    userId: s.userId,
    hmds: s.hmds ? { authStatus: { authenticated: true, connected: true } } : { error: "no bridge" },
    iserver: { authStatus: authStatus(s, env) },
  });
}

/** /sso/validate (protocol §3.3). */
export function validate(call: ApiCall, env: Env): Response {
  const s = call.session;
  return json({
    USER_ID: s.userId,
    USER_NAME: s.username,
    RESULT: true,
    AUTH_TIME: s.createdAt,
    SF_ENABLED: false,
    IS_FREE_TRIAL: false,
    CREDENTIAL: s.username,
    IP: "0.0.0.0",
    EXPIRES: env.state.msLeft(s),
    QUALIFIED_FOR_MOBILE_AUTH: null,
    LANDING_APP: "UNIVERSAL",
    IS_MASTER: false,
    lastAccessed: s.lastActivity,
    LOGIN_TYPE: 2,
    PAPER_USER_NAME: s.username,
    features: {
      env: "PROD",
      wlms: true,
      realtime: true,
      bond: true,
      optionChains: true,
      calendar: true,
      newMf: true,
    },
    region: "NJ",
  });
}

/** /logout: ends the session; the bearer is dead afterwards (protocol §3.7). */
export function logout(call: ApiCall, env: Env): Response {
  env.state.release(call.session);
  call.session.ended = "logout";
  return json({ status: true });
}

/** /iserver/reauthenticate: deprecated; re-opens the brokerage session unless another holds it. */
export function reauthenticate(call: ApiCall, env: Env): Response {
  if (!env.state.holds(call.session) && !env.state.competingFor(call.session))
    env.state.takeBrokerage(call.session);
  return json({ message: "triggered" });
}

export function hmdsInit(call: ApiCall): Response {
  call.session.hmds = true;
  return json({ authenticated: true });
}
