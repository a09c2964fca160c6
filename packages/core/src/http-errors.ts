import { IbauthError, type IbauthStep } from "./errors";
import type { Http } from "./http";
import type { Pacer } from "./pacing";

// How an answer, or the lack of one, becomes an error a user can act on: IBKR's own words (redacted),
// which step failed and the likely fix.

/** Which penalty box a step's requests and their 429s belong to. */
export const pacerFor = (http: Http, step: IbauthStep): Pacer => (step === "ip" ? http.ipPacer : http.pacer);

/** The errno a runtime put on a failed fetch (undici: `cause.code`), if any. */
function errnoOf(error: unknown): string | undefined {
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current && depth < 3; depth++, current = current.cause as typeof current) {
    if (typeof current.code === "string" && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(current.code))
      return current.code;
  }
  return undefined;
}

/**
 * "no HTTP answer from http://127.0.0.1:5000 (ECONNREFUSED)": the origin only (a path or query
 * could carry anything), and a hint for where it went: nothing listening on this machine is not
 * IBKR's nightly restart.
 */
export function noAnswer(url: string, cause: unknown): { message: string; hint: string } {
  let origin = "the server";
  let loopback = false;
  try {
    const u = new URL(url);
    origin = u.origin;
    loopback = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/i.test(u.hostname);
  } catch {}
  const errno = errnoOf(cause);
  return {
    message: `no HTTP answer from ${origin}${errno ? ` (${errno})` : " (DNS, refused or reset connection)"}`,
    hint: loopback
      ? `nothing answers at ${origin} on this machine: start what should listen there (\`ibauth emulator\`, a proxy) or fix base_url`
      : "IBKR restarts nightly; a retry usually succeeds. Check the network, base_url and domain if it persists",
  };
}

export function redactCause(cause: unknown, http: Http): Error {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new Error(http.redact(message));
}

/** IBKR's own words from an error body: `{error}`, problem details, RFC 6749 `{error, error_description}`, or HTML. */
export function ibkrMessageOf(text: string): string | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  try {
    const j = JSON.parse(trimmed) as Record<string, unknown>;
    const parts = [j.error, j.error_description, j.detail ?? j.title, j.message].filter(
      (p): p is string => typeof p === "string" && p !== "",
    );
    if (parts.length) return [...new Set(parts)].join(": ").slice(0, 300);
  } catch {}
  if (/^<(!doctype|html)/i.test(trimmed))
    return "an HTML error page (a CDN or firewall answered, not the API)";
  return trimmed.slice(0, 200);
}

const KEY_HINT =
  "Check client_id, client_key_id (kid) and that the public key registered at IBKR belongs to this private key. A newly registered key can take until the next business day, or the weekend reset, to become active";
const CREDENTIAL_HINT =
  "IBKR does not accept this credential: use the paper-trading username for a paper account and the live username for live, and check the username is enabled for this OAuth client";
const IP_HINT =
  "Set the ip option (and alternativeIps) to your public IP, or point ipLookupUrl at a plain-text IP service that works";
const SESSION_HINT =
  "The session is not valid: expired, logged out, or used from an IP that is not in its ip/alternativeIps claim";

/** Maps a non-2xx answer to the error a user can act on. */
export function errorFromResponse(step: IbauthStep, res: Response, text: string, http: Http): IbauthError {
  const status = res.status;
  const message = ibkrMessageOf(text);
  const ibkrMessage = message === undefined ? undefined : http.redact(message);
  const base = { step, status, response: res, ...(ibkrMessage ? { ibkrMessage } : {}) };
  const html = message?.startsWith("an HTML error page") ?? false;
  if (status === 429) {
    return new IbauthError(
      step === "ip" ? "the IP lookup service rate-limited us" : "IBKR rate limit exceeded",
      {
        ...base,
        code: "ERR_RATE_LIMITED",
        retryAfterMs: Math.max(0, pacerFor(http, step).penaltyUntil - http.now()),
        hint: step === "ip" ? IP_HINT : "Requests are paused until the penalty ends; do not retry sooner",
      },
    );
  }
  // The IP lookup is not IBKR: its statuses mean nothing about the session.
  if (step === "ip")
    return new IbauthError("the IP lookup failed", { ...base, code: "ERR_HTTP", hint: IP_HINT });
  if (status === 403 && html)
    return new IbauthError("IBKR's firewall refused the request", {
      ...base,
      code: "ERR_HTTP",
      hint: "The WAF rejects empty User-Agents and blocked IPs",
    });
  if (step === "token" && (status === 400 || status === 401 || status === 403)) {
    return new IbauthError("IBKR refused the client assertion", {
      ...base,
      code: "ERR_AUTH",
      hint: KEY_HINT,
    });
  }
  if (step === "bearer" && status === 403)
    return new IbauthError("IBKR refused the SSO session", {
      ...base,
      code: "ERR_AUTH",
      hint: CREDENTIAL_HINT,
    });
  if (step === "bearer" && status === 401) {
    return new IbauthError("IBKR refused the access token", {
      ...base,
      code: "ERR_AUTH",
      hint: "The access token expired or was revoked; a new one is needed",
    });
  }
  if (isRedirect(res))
    return new IbauthError(`IBKR redirected (${status || "opaque"}) instead of answering`, {
      ...base,
      code: "ERR_SESSION",
      hint: `${SESSION_HINT}. IBKR's gateway sends a session it does not accept to its login page`,
    });
  if (status === 401)
    return new IbauthError("not authorised", { ...base, code: "ERR_AUTH", hint: SESSION_HINT });
  if (status === 410) {
    return new IbauthError("IBKR says the session is gone (410)", {
      ...base,
      code: "ERR_SESSION",
      hint: "Log in again; if it persists, try another domain (1.api.ibkr.com … 7.api.ibkr.com)",
    });
  }
  if (isNoBridge(status, message)) {
    return new IbauthError("no brokerage session", {
      ...base,
      code: "ERR_SESSION",
      hint: "ssodh/init opens it; IBKR may need a few seconds after init",
    });
  }
  if (step === "init" && status === 500 && /sso dh token/i.test(message ?? "")) {
    return new IbauthError("IBKR could not open the brokerage session", {
      ...base,
      code: "ERR_HTTP",
      hint: "Usually transient. New (paper) accounts can see this for days after approval; if it persists, ask IBKR API support",
    });
  }
  if (status === 411)
    return new IbauthError("IBKR wants a Content-Length", {
      ...base,
      code: "ERR_HTTP",
      hint: "A proxy between you and IBKR drops Content-Length on POST",
    });
  return new IbauthError(status >= 500 ? "IBKR server error" : "unexpected HTTP status", {
    ...base,
    code: "ERR_HTTP",
  });
}

/** A 3xx (or a browser's opaque redirect): IBKR sends a session it refuses to /sso/Login. */
export function isRedirect(res: Response): boolean {
  return res.type === "opaqueredirect" || (res.status >= 300 && res.status < 400);
}

/** IBKR refused the session: 401, or a redirect to its login page. */
export function refusedSession(e: unknown): e is IbauthError {
  if (!(e instanceof IbauthError) || e.status === undefined) return false;
  // a redirect is ERR_SESSION with a status below 400 (0 for a browser's opaque redirect)
  return e.status === 401 || (e.code === "ERR_SESSION" && e.status < 400);
}

export function isNoBridge(status: number, message: string | undefined): boolean {
  return status === 400 && /no bridge/i.test(message ?? "");
}
