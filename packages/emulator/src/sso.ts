import type { Call, Env } from "./context.js";
import { json, problem } from "./responses.js";
import { Rejection, secondsClaim, verifyClientJws } from "./verify.js";
import { bodyText } from "./wire.js";

/** Parses `Authorization: Bearer <token>`, tolerating extra spaces (IBKR's Postman sends two). */
export function bearerOf(request: Request): string | undefined {
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "");
  return m?.[1];
}

// Loose syntax checks: enough to catch a missing lookup ("undefined", "") or a URL pasted as an IP.
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-f:]+(:(\d{1,3}\.){3}\d{1,3})?$/i;
const isIp = (v: unknown): v is string =>
  typeof v === "string" && (IPV4.test(v) || (v.includes(":") && IPV6.test(v)));

/** POST /gw/api/v1/sso-sessions: the SSO bearer for a username, bound to IPs (protocol §3.2, §9.3). */
export async function ssoSessionsEndpoint(call: Call, env: Env): Promise<Response> {
  if (call.method !== "POST") return problem(405, "use POST");
  try {
    return await create(call, env);
  } catch (e) {
    if (e instanceof Rejection) return problem(e.status, e.message, e.field);
    throw e;
  }
}

async function create(call: Call, env: Env): Promise<Response> {
  const token = bearerOf(call.request);
  if (!token) throw new Rejection(401, "Authorization: Bearer <access token> is required");
  const record = env.state.accessTokens.get(token);
  if (!record || record.expiresAt <= env.clock.now())
    throw new Rejection(
      401,
      "The access token is invalid or expired: request a new one from /oauth2/api/v1/token",
    );
  if (!record.scopes.includes("sso-sessions.write"))
    throw new Rejection(401, "The access token lacks scope sso-sessions.write");
  const client = env.clients.get(record.clientId);
  if (!client) throw new Rejection(401, "The access token's client is no longer registered");

  const type = (call.request.headers.get("content-type") ?? "").toLowerCase();
  if (!type.startsWith("application/jwt") && !type.startsWith("text/plain"))
    throw new Rejection(400, "Content-Type must be application/jwt (or text/plain)", "Content-Type");
  const what = "sso-sessions JWT";
  const claims = await verifyClientJws((await bodyText(call.request)).trim(), client, env.keys, what);
  if (claims.iss !== client.clientId) throw new Rejection(401, `${what}: iss must be the client id`);
  const now = env.clock.nowSec();
  const exp = secondsClaim(claims, "exp", what);
  const iat = secondsClaim(claims, "iat", what);
  if (exp <= now) throw new Rejection(401, `${what} has expired (check the clock)`);
  if (iat > now + env.settings.clockSkewSec)
    throw new Rejection(401, `${what}: iat is in the future (check the clock)`);
  if (exp - iat > env.settings.maxSsoLifetimeSec)
    throw new Rejection(401, `${what}: lifetime exp - iat exceeds ${env.settings.maxSsoLifetimeSec} s`);

  const credential = claims.credential;
  if (typeof credential !== "string" || !credential)
    throw new Rejection(400, "Missing required claim: credential", "credential");
  if (!client.credentials.includes(credential))
    throw new Rejection(
      403,
      "credential is not a username enabled for this client (a live username used for paper, or the reverse?)",
    );
  if (claims.ip === undefined || claims.ip === null || claims.ip === "")
    throw new Rejection(400, "Missing required claim: ip (the caller's public IP)", "ip");
  if (!isIp(claims.ip)) throw new Rejection(400, "Claim ip is not an IP address", "ip");
  const ips = new Set([claims.ip]);
  const alt = claims.alternativeIps;
  if (alt !== undefined) {
    if (!Array.isArray(alt) || !alt.every(isIp))
      throw new Rejection(400, "Claim alternativeIps must be an array of IP addresses", "alternativeIps");
    for (const ip of alt) ips.add(ip);
  }
  const s = env.state.createSession(client.clientId, credential, ips, env.settings.revokeEarlierBearers);
  s.expiresAt = exp * 1000;
  return json({ access_token: s.bearer, token_type: "Bearer", active: true });
}
