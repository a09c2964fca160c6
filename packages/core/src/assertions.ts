import { SignJWT } from "jose";
import { TOKEN_AUDIENCE } from "./endpoints";

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * The private_key_jwt client assertion for the token endpoint. Short-lived (IBKR's samples: iat-10,
 * exp+20; we allow 60 s for clock skew, as ibind does) and signed anew for every attempt.
 */
export function signClientAssertion(
  key: CryptoKey,
  o: { clientId: string; kid: string; now: number },
): Promise<string> {
  const t = seconds(o.now);
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: o.kid })
    .setIssuer(o.clientId)
    .setSubject(o.clientId)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(t - 10)
    .setExpirationTime(t + 60)
    .sign(key);
}

/**
 * The body of POST /gw/api/v1/sso-sessions: the IBKR username and the IP(s) the session may be used
 * from. `exp = iat + lifetimeSec` (86 400 by default, as every IBKR sample): it authorises a session, so
 * a shorter one may bound the session (unknown at IBKR, enforced by the emulator).
 */
export function signSsoAssertion(
  key: CryptoKey,
  o: {
    clientId: string;
    kid: string;
    credential: string;
    ip: string;
    alternativeIps: string[];
    now: number;
    lifetimeSec: number;
  },
): Promise<string> {
  const t = seconds(o.now);
  const claims: Record<string, unknown> = { credential: o.credential, ip: o.ip };
  if (o.alternativeIps.length) claims.alternativeIps = o.alternativeIps;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: o.kid })
    .setIssuer(o.clientId)
    .setIssuedAt(t)
    .setExpirationTime(t + o.lifetimeSec)
    .sign(key);
}
