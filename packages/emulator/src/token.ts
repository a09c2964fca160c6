import { SignJWT } from "jose";
import type { Call, Env } from "./context.js";
import { randomHex } from "./random.js";
import { json, problem } from "./responses.js";
import { DEFAULT_SCOPES } from "./types.js";
import { peekIssuer, Rejection, secondsClaim, verifyClientJws } from "./verify.js";
import { bodyText } from "./wire.js";

const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** POST /oauth2/api/v1/token: private_key_jwt client credentials (protocol §3.1, §9.2). */
export async function tokenEndpoint(call: Call, env: Env): Promise<Response> {
  if (call.method !== "POST") return problem(405, "use POST");
  const type = call.request.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded"))
    return problem(400, "Content-Type must be application/x-www-form-urlencoded", "Content-Type");
  const form = new URLSearchParams(await bodyText(call.request));
  try {
    return await issue(form, env);
  } catch (e) {
    if (e instanceof Rejection) return problem(e.status, e.message, e.field);
    throw e;
  }
}

async function issue(form: URLSearchParams, env: Env): Promise<Response> {
  const need = (name: string) => {
    const v = form.get(name);
    if (!v) throw new Rejection(400, `Missing required parameter: ${name}`, name);
    return v;
  };
  if (need("grant_type") !== "client_credentials")
    throw new Rejection(400, "grant_type must be client_credentials", "grant_type");
  if (need("client_assertion_type") !== ASSERTION_TYPE)
    throw new Rejection(400, `client_assertion_type must be ${ASSERTION_TYPE}`, "client_assertion_type");
  const assertion = need("client_assertion");
  const scopes = need("scope").split(/\s+/).filter(Boolean);
  if (scopes.length === 0) throw new Rejection(400, "Missing required parameter: scope", "scope");

  const what = "client_assertion";
  const clientId = peekIssuer(assertion);
  const client = clientId === undefined ? undefined : env.clients.get(clientId);
  if (!client) throw new Rejection(401, `${what}: iss does not name a registered client`);
  const formClient = form.get("client_id");
  if (formClient && formClient !== client.clientId)
    throw new Rejection(401, "client_id does not match the assertion's iss");
  const claims = await verifyClientJws(assertion, client, env.keys, what);
  if (claims.sub !== client.clientId) throw new Rejection(401, `${what}: sub must equal iss (the client id)`);
  // every IBKR sample sends the literal path; a full URL is one unverified third-party report (§3.1, §11)
  if (claims.aud !== "/token") throw new Rejection(401, `${what}: aud must be exactly "/token"`);
  const now = env.clock.nowSec();
  const exp = secondsClaim(claims, "exp", what);
  const iat = secondsClaim(claims, "iat", what);
  if (exp <= now) throw new Rejection(401, `${what} has expired (exp is in the past: check the clock)`);
  if (iat > now + env.settings.clockSkewSec)
    throw new Rejection(401, `${what}: iat is in the future (check the clock)`);
  if (exp - iat > env.settings.maxAssertionLifetimeSec)
    throw new Rejection(401, `${what}: lifetime exp - iat exceeds ${env.settings.maxAssertionLifetimeSec} s`);

  const allowed = client.scopes ?? DEFAULT_SCOPES;
  const denied = scopes.filter((s) => !allowed.includes(s));
  if (denied.length)
    throw new Rejection(400, `scope not allowed for this client: ${denied.join(" ")}`, "scope");

  const ttl = env.settings.accessTokenTtlSec;
  const { privateKey } = await env.issuer.get();
  const accessToken = await new SignJWT({ scope: scopes.join(" "), csid: randomHex(8) })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: "emulator" })
    .setIssuer("/token")
    .setSubject(client.clientId)
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .sign(privateKey);
  env.state.prune();
  env.state.accessTokens.set(accessToken, {
    clientId: client.clientId,
    scopes,
    expiresAt: (now + ttl) * 1000,
  });
  return json({
    access_token: accessToken,
    token_type: "Bearer",
    expires_in: ttl - 1,
    scope: scopes.join(" "),
  });
}
