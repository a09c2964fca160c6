import { type IBAuth, isIbauthError } from "@ibauth/core";
import { summarizeError } from "./outcome";
import { forwardedHeaders } from "./proxy-headers";
import { relay } from "./relay";
import { problem } from "./respond";
import { methodNotProxied, proxyTarget, rawPathAndQuery } from "./target";

const NO_BODY = new Set(["GET", "HEAD"]);

/** 429 to the caller while IBKR's penalty runs: the object sends nothing for this user until then. */
export function rateLimited(until: number, now: number): Response {
  const seconds = Math.max(1, Math.ceil((until - now) / 1000));
  return problem(
    429,
    `IBKR rate-limited this user; nothing is sent to IBKR until ${new Date(until).toISOString()}`,
    { retryAfterMs: seconds * 1000, resumesAt: until },
    { "retry-after": String(seconds) },
  );
}

/**
 * Forwards one caller request through the object's IBAuth: the same target and header rules as the KV
 * proxy, and the core's fetch for the rest (its pacer, its single-flight login and heal, the replay
 * after a heal, the wait for the bridge after ssodh/init). Bodies are buffered (a replay needs them).
 */
export async function proxyThroughSession(
  request: Request,
  auth: IBAuth,
  origin: string,
  maxBodyBytes: number,
  now: () => number,
): Promise<Response> {
  const refused = methodNotProxied(request.method);
  if (refused) return refused;
  const target = proxyTarget(origin, rawPathAndQuery(request.url));
  if (!target.ok) return problem(400, `refused: ${target.reason}`);
  let body: ArrayBuffer | undefined;
  if (!NO_BODY.has(request.method) && request.body) {
    const declared = Number(request.headers.get("content-length") ?? 0);
    if (declared > maxBodyBytes) return problem(413, `request bodies are limited to ${maxBodyBytes} bytes`);
    body = await request.arrayBuffer();
    if (body.byteLength > maxBodyBytes)
      return problem(413, `request bodies are limited to ${maxBodyBytes} bytes`);
  }
  try {
    const headers = forwardedHeaders(request);
    const answer = await auth.fetch(target.url, { method: request.method, headers, body });
    return await relay(answer, target.path, origin);
  } catch (error) {
    return failed(error, auth, now());
  }
}

function failed(error: unknown, auth: IBAuth, at: number): Response {
  if (!isIbauthError(error)) throw error;
  if (error.code === "ERR_RATE_LIMITED") {
    const until = auth.status().rateLimitedUntil ?? at + (error.retryAfterMs ?? 60_000);
    return rateLimited(until, at);
  }
  const summary = summarizeError(error, at);
  if (error.step === "request" && error.code === "ERR_TIMEOUT")
    return problem(504, "IBKR did not answer in time; retry", {}, { "retry-after": "5" });
  if (error.step === "request" && error.code === "ERR_NETWORK") {
    return problem(502, "IBKR did not answer (connection reset or DNS); retry", {}, { "retry-after": "5" });
  }
  // The login or heal in front of the request failed: say which step and what to do.
  return problem(
    503,
    "no usable IBKR session: the login or heal failed",
    { code: summary.code, step: summary.step, status: summary.status, hint: summary.hint },
    { "retry-after": "30" },
  );
}
