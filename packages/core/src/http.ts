import { createFetch, type FetchContext } from "ofetch";
import { IbauthError, type IbauthErrorCode, type IbauthStep } from "./errors";
import type { Logger } from "./log";
import { type Pacer, parseRetryAfter } from "./pacing";

/** The ofetch instance every request of the core goes through. */
export type Transport = ReturnType<typeof createFetch>;

/** What every request needs; one instance per IBAuth. */
export interface Http {
  transport: Transport;
  userAgent: string;
  timeoutMs: number;
  logger: Logger;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  retryAttempts: number;
  retryBaseDelayMs: number;
  /** IBKR's budget and penalty box. */
  pacer: Pacer;
  /** The IP lookup is another service: its own penalty box, so its 429 never pauses IBKR traffic. */
  ipPacer: Pacer;
  /** Replaces every secret this instance knows with "[redacted]": applied to any text IBKR sends back. */
  redact: (text: string) => string;
}

/**
 * ofetch over the injected fetch. ofetch passes its whole options object (hooks, retry, timeout…) as the
 * RequestInit: the runtime's fetch gets a plain one, so an injected fetch (a test double, a relay, the
 * emulator's handler) sees exactly what goes on the wire.
 */
export function createTransport(runtimeFetch: typeof fetch): Transport {
  const plain: typeof fetch = (input, init) =>
    runtimeFetch(input, {
      method: init?.method,
      headers: init?.headers,
      body: init?.body ?? null,
      signal: init?.signal ?? null,
      redirect: init?.redirect ?? "manual",
    });
  return createFetch({ fetch: plain });
}

export interface Call {
  step: IbauthStep;
  method: string;
  url: string;
  headers?: HeadersInit;
  /** Strings and bytes only from the SDK, so fetch sets Content-Length itself (Akamai answers 411 without it). */
  body?: BodyInit | null | undefined;
  signal?: AbortSignal | undefined;
  /** Runs once the request has its pacing slot, just before it goes out: a queued request takes the bearer of that moment. */
  beforeSend?: (headers: Headers) => Promise<void>;
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);
/**
 * The body of a bodyless POST (/tickle, /logout): zero bytes, so fetch sends `Content-Length: 0` and no
 * Content-Type (an empty string would add `text/plain;charset=UTF-8`, which no IBKR sample sends).
 */
const NO_BYTES = new Uint8Array(0);

/** The path of an absolute URL, for log lines: no query (it can hold account ids), no second URL parse per request. */
const pathOf = (url: string) => url.replace(/^[a-z]+:\/\/[^/]*/i, "").split(/[?#]/)[0] || "/";

/**
 * Sends one request through ofetch: pacing, User-Agent and the bearer in its onRequest hook, logging and
 * the 429 penalty in onResponse, its timeout. IBKR's answer comes back unread whatever its status
 * (`ignoreResponseError`, `responseType: "stream"`); no ofetch retry: `withRetry` re-signs each attempt
 * and waits on the injected clock. Network failures become typed errors.
 */
export async function send(http: Http, call: Call): Promise<Response> {
  const pacer = pacerFor(http, call.step);
  const path = pathOf(call.url);
  let started = 0;
  let timeout: AbortSignal | undefined;
  // release ends this request's share of a concurrency cap (IBKR's history endpoint: 5 in flight)
  let release = () => {};
  const onRequest = async ({ options }: FetchContext) => {
    release = await pacer.admit(call.step, { path, signal: call.signal });
    const headers = options.headers as Headers;
    await call.beforeSend?.(headers);
    headers.set("User-Agent", http.userAgent);
    if (!headers.has("Accept")) headers.set("Accept", "*/*");
    // ofetch would label an unlabelled string body application/json; fetch labels it text/plain, and
    // auth.fetch sends what its caller would have sent with fetch
    if (typeof options.body === "string" && !headers.has("Content-Type"))
      headers.set("Content-Type", "text/plain;charset=UTF-8");
    // ofetch's own timeout only runs without a caller signal; with one, both abort the request.
    if (call.signal) {
      timeout = AbortSignal.timeout(http.timeoutMs);
      options.signal = AbortSignal.any([timeout, call.signal]);
    }
    started = http.now();
  };
  const onResponse = ({ response }: FetchContext) => {
    const res = response as Response;
    http.logger.debug(
      { step: call.step, method: call.method, path, status: res.status, ms: http.now() - started },
      "response",
    );
    if (res.status !== 429) return;
    const ms = pacer.penalize(parseRetryAfter(res.headers.get("Retry-After"), http.now()));
    http.logger.warn(
      { step: call.step, path, retryAfterMs: ms },
      call.step === "ip"
        ? "rate-limited by the IP lookup service"
        : "rate-limited by IBKR; pausing all requests",
    );
  };
  try {
    return await http.transport.raw(call.url, {
      method: call.method,
      headers: call.headers,
      // A POST always carries a body (maybe empty) so that every runtime sends Content-Length.
      body: call.body ?? (BODY_METHODS.has(call.method) ? NO_BYTES : undefined),
      ...(call.signal ? {} : { timeout: http.timeoutMs }),
      retry: false,
      redirect: "manual",
      responseType: "stream",
      ignoreResponseError: true,
      onRequest,
      onResponse,
    });
  } catch (e) {
    if (e instanceof IbauthError) throw e; // the pacer refused before sending
    const failure = (e as { cause?: unknown }).cause ?? e;
    const timedOut = timeout ? timeout.aborted : !call.signal && (failure as Error)?.name === "TimeoutError";
    const code: IbauthErrorCode = timedOut
      ? "ERR_TIMEOUT"
      : call.signal?.aborted
        ? "ERR_ABORTED"
        : "ERR_NETWORK";
    http.logger.debug(
      { step: call.step, method: call.method, path, error: code, ms: http.now() - started },
      "request failed",
    );
    throw new IbauthError(
      code === "ERR_TIMEOUT"
        ? `no answer within ${http.timeoutMs} ms`
        : code === "ERR_ABORTED"
          ? "aborted by the caller"
          : noAnswer(call.url, failure).message,
      {
        code,
        step: call.step,
        cause: code === "ERR_NETWORK" ? redactCause(failure, http) : undefined,
        ...(code === "ERR_NETWORK" ? { hint: noAnswer(call.url, failure).hint } : {}),
      },
    );
  } finally {
    release();
  }
}

const pacerFor = (http: Http, step: IbauthStep): Pacer => (step === "ip" ? http.ipPacer : http.pacer);

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
function noAnswer(url: string, cause: unknown): { message: string; hint: string } {
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

function redactCause(cause: unknown, http: Http): Error {
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

/** Sends and reads the answer; a non-2xx becomes a typed error, a 2xx ends the 429 strike count of its pacer. */
async function exchange(http: Http, call: Call): Promise<{ res: Response; text: string }> {
  const res = await send(http, call);
  const text = await readText(http, call.step, res);
  if (!res.ok) throw errorFromResponse(call.step, res, text, http);
  pacerFor(http, call.step).settle();
  return { res, text };
}

/** Sends and returns the parsed JSON of a 2xx answer; anything else becomes a typed error. */
export async function requestJson<T = Record<string, unknown>>(http: Http, call: Call): Promise<T> {
  const { res, text } = await exchange(http, call);
  try {
    return JSON.parse(text) as T;
  } catch {
    const message = ibkrMessageOf(text);
    throw new IbauthError("IBKR answered with a body that is not JSON", {
      code: "ERR_PROTOCOL",
      step: call.step,
      status: res.status,
      ...(message ? { ibkrMessage: http.redact(message) } : {}),
    });
  }
}

/** Sends and returns the text of a 2xx answer. */
export async function requestText(http: Http, call: Call): Promise<string> {
  return (await exchange(http, call)).text;
}

/** The most the core reads of an answer to its own steps; IBKR's are a few hundred bytes. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** Reads an answer as text, refusing (and cancelling) one larger than MAX_ANSWER_BYTES. */
async function readText(http: Http, step: IbauthStep, res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_ANSWER_BYTES) {
        await reader.cancel().catch(() => undefined);
        throw new IbauthError(`the answer is larger than ${MAX_ANSWER_BYTES / 1024} KiB`, {
          code: "ERR_PROTOCOL",
          step,
          status: res.status,
          hint: "IBKR's answers to login steps are small: something between you and IBKR (a proxy, a captive portal) answered instead",
        });
      }
      chunks.push(value);
    }
  } catch (cause) {
    if (cause instanceof IbauthError) throw cause;
    throw new IbauthError("the answer broke off", {
      code: "ERR_NETWORK",
      step,
      status: res.status,
      cause: redactCause(cause, http),
    });
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/** Transient failures worth another attempt: no answer, 5xx, an unreadable 2xx. Never 4xx or 429. */
export function isTransient(e: unknown): boolean {
  if (!(e instanceof IbauthError)) return false;
  if (e.code === "ERR_NETWORK" || e.code === "ERR_TIMEOUT" || e.code === "ERR_PROTOCOL") return true;
  return e.code === "ERR_HTTP" && (e.status ?? 0) >= 500;
}

/** Runs `attempt` (which must sign anew each time) with bounded exponential backoff and jitter. */
export async function withRetry<T>(http: Http, step: IbauthStep, attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (i >= http.retryAttempts || !isTransient(e)) throw e;
      const delay = Math.round(http.retryBaseDelayMs * 2 ** (i - 1) * (0.8 + Math.random() * 0.4));
      http.logger.info(
        {
          step,
          attempt: i,
          retryInMs: delay,
          code: (e as IbauthError).code,
          status: (e as IbauthError).status,
        },
        "transient failure; retrying",
      );
      await http.sleep(delay);
    }
  }
}
