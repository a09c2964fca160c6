import { createFetch, type FetchContext } from "ofetch";
import { IbauthError, type IbauthErrorCode, type IbauthStep } from "./errors";
import { errorFromResponse, ibkrMessageOf, noAnswer, pacerFor, redactCause } from "./http-errors";
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
