import { compactVerify, decodeJwt, decodeProtectedHeader } from "jose";
import type { KeyRing } from "./keys.js";
import type { EmulatorClient } from "./types.js";

/** A verification failure: the HTTP status and a detail that names the problem (never a secret). */
export class Rejection extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Verifies an RS256 compact JWS with the client's key named by `kid` and returns its claims. */
export async function verifyClientJws(
  jws: string,
  client: EmulatorClient,
  keys: KeyRing,
  what: string,
): Promise<Record<string, unknown>> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    throw new Rejection(400, `${what} is not a compact JWS`);
  }
  if (header.alg !== "RS256")
    throw new Rejection(401, `${what} must be signed with RS256, got alg ${String(header.alg)}`);
  // every IBKR sample sends kid ("main" when the client registered one key); a missing one is refused
  const kid = header.kid;
  if (typeof kid !== "string" || !kid) throw new Rejection(401, `${what}: the JWS header needs a kid`);
  const pem = client.keys[kid];
  if (pem === undefined)
    throw new Rejection(
      401,
      `${what}: kid ${JSON.stringify(header.kid ?? null)} is not registered for this client`,
    );
  const key = await keys.get(client.clientId, kid, pem);
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, key, { algorithms: ["RS256"] }));
  } catch {
    throw new Rejection(
      401,
      `${what}: signature does not verify with the key registered as kid ${JSON.stringify(kid)}`,
    );
  }
  try {
    const claims = JSON.parse(new TextDecoder().decode(payload));
    if (claims && typeof claims === "object" && !Array.isArray(claims)) return claims;
  } catch {}
  throw new Rejection(400, `${what}: payload is not a JSON object`);
}

/** Numeric date claims must be 10-digit Unix seconds (IBKR-CS2: longer values are an error). */
export function secondsClaim(claims: Record<string, unknown>, name: string, what: string): number {
  const v = claims[name];
  if (typeof v !== "number" || !Number.isFinite(v))
    throw new Rejection(401, `${what}: claim ${name} is required (Unix seconds)`);
  if (v > 9_999_999_999)
    throw new Rejection(401, `${what}: claim ${name} must be Unix seconds, not milliseconds`);
  return v;
}

/** Unverified peek at the `iss` claim, to find the client whose key must verify the JWS. */
export function peekIssuer(jws: string): string | undefined {
  try {
    const iss = decodeJwt(jws).iss;
    return typeof iss === "string" ? iss : undefined;
  } catch {
    return undefined;
  }
}
