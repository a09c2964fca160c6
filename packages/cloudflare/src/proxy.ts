import { isIbauthError, isNoBridgeAnswer, type SessionKey, type SessionRecord } from "@ibauth/core";
import { readUpTo } from "./body-prefix";
import { runOperation } from "./operation";
import { ipMismatchNote, ipMismatchSuspected, recordOutcome, setIpMismatch, summarizeError } from "./outcome";
import { forwardedHeaders } from "./proxy-headers";
import { pausedAnswer } from "./proxy-pacing";
import { relay } from "./relay";
import { problem } from "./respond";
import type { Context, Ready } from "./runtime";
import type { WorkerSettings } from "./settings";
import { methodNotProxied, proxyTarget, rawPathAndQuery } from "./target";

interface Body {
  /** Buffered bytes: sent with an exact Content-Length and replayable after a heal. */
  bytes?: ArrayBuffer;
  /** Too large or of unknown length: streamed once, never replayed. */
  stream?: ReadableStream<Uint8Array>;
}

/**
 * Reads up to maxBytes of the body. A body that fits is sent with an exact Content-Length (IBKR's CDN
 * answers 411 to a POST without one) and can be replayed; a larger one streams on, read chunks first.
 */
async function readBody(request: Request, maxBytes: number): Promise<Body> {
  if (request.body === null || request.method === "GET" || request.method === "HEAD") return {};
  const read = await readUpTo(request.body, maxBytes);
  return read.complete ? { bytes: read.bytes.buffer } : { stream: read.stream };
}

function send(
  settings: WorkerSettings,
  url: string,
  request: Request,
  body: Body,
  authorization: string,
  signal: AbortSignal,
): Promise<Response> {
  const headers = forwardedHeaders(request);
  headers.set("authorization", authorization);
  const init: RequestInit & { duplex?: "half" } = {
    method: request.method,
    headers,
    redirect: "manual",
    signal,
  };
  if (body.bytes) init.body = body.bytes;
  else if (body.stream) {
    // Keep a known length: IBKR's CDN answers 411 to a POST without Content-Length.
    const length = request.headers.get("content-length");
    if (length !== null) headers.set("content-length", length);
    init.body = body.stream;
    init.duplex = "half";
  }
  return settings.fetch(url, init);
}

/** IBKR gave no HTTP answer (reset, DNS) or none in time: the caller gets a 502 or 504 that says so. */
class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    readonly timedOut: boolean,
    options: ErrorOptions,
  ) {
    super(timedOut ? "IBKR did not answer in time" : "IBKR did not answer", options);
  }
}

/**
 * Sends with the core's timeoutMs for IBKR's response headers (a hung upstream must not hold the request
 * for ever); the body then streams without a deadline, as large downloads may take long.
 */
async function sendOrFail(
  settings: WorkerSettings,
  url: string,
  request: Request,
  body: Body,
  authorization: string,
): Promise<Response> {
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), settings.upstreamTimeoutMs);
  try {
    return await send(settings, url, request, body, authorization, timeout.signal);
  } catch (cause) {
    throw new UpstreamError(timeout.signal.aborted, { cause });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether IBKR's answer means the session needs healing: 401 (bearer or LST dead, or wrong IP), or 400
 * "no bridge" on /iserver (brokerage session gone). Only such a 400's small body is read; every other
 * body streams through untouched.
 */
interface Inspected {
  response: Response;
  heal: boolean;
  noBridge: boolean;
}

/** IBKR's "no bridge" body is about 50 bytes; a 400 is read no further than this to recognise it. */
const NO_BRIDGE_MAX_BYTES = 4096;

async function inspect(response: Response, path: string): Promise<Inspected> {
  if (response.status === 401) return { response, heal: true, noBridge: false };
  if (response.status !== 400 || !path.startsWith("/v1/api/iserver/") || response.body === null) {
    return { response, heal: false, noBridge: false };
  }
  const read = await readUpTo(response.body, NO_BRIDGE_MAX_BYTES);
  const init = { status: response.status, statusText: response.statusText, headers: response.headers };
  if (!read.complete) return { response: new Response(read.stream, init), heal: false, noBridge: false };
  const noBridge = isNoBridgeAnswer(400, new TextDecoder().decode(read.bytes));
  return { response: new Response(read.bytes, init), heal: noBridge, noBridge };
}

/** How long the proxy trusts its read of the pause flag; a heal always reads it afresh. */
const PAUSE_CACHE_MS = 5_000;

/** IBKR answers "no bridge" for a few seconds after ssodh/init; it advises waiting 1–5 s (protocol §3.4). */
const BRIDGE_WAITS_MS = [1000, 2000, 2000];
const BRIDGE_SETTLE_MS = BRIDGE_WAITS_MS.reduce((a, b) => a + b, 0);

/** Re-sends a replayable request while IBKR still says "no bridge" after a fresh ssodh/init. */
async function waitForBridge(
  answer: Inspected,
  again: () => Promise<Inspected>,
  settings: WorkerSettings,
): Promise<Inspected> {
  let current = answer;
  for (const wait of BRIDGE_WAITS_MS) {
    if (!current.noBridge) break;
    await settings.sleep(wait);
    current = await again();
  }
  return current;
}

/**
 * Heals after the proxy saw 401/"no bridge": never while paused by POST /session/logout (read from KV,
 * not a cache: another isolate may have paused); first look for a record another isolate already
 * healed; otherwise run one core tick, which logs in only past the login brake and with the login lease.
 * Returns the record to replay with, a reason to refuse, or nothing to pass IBKR's answer through.
 */
function heal(
  ready: Ready,
  settings: WorkerSettings,
  context: Context,
  usedBearer: string,
): Promise<HealResult> {
  ready.heal.inFlight ??= (async (): Promise<HealResult> => {
    if ((await ready.book.read())?.paused) return { paused: true };
    const newer = await ready.record(true);
    if (newer?.bearer && newer.bearer.token !== usedBearer) return { record: newer };
    const now = settings.now();
    if (ready.heal.lastAt !== undefined && now - ready.heal.lastAt < settings.healCooldownMs) return {};
    ready.heal.lastAt = now;
    const op = await runOperation(
      ready.config,
      settings,
      ready.names,
      context.logger,
      (auth) => auth.tick(),
      { brake: true },
    );
    if (op.leaseHeld?.reason === "brake") {
      context.logger.warn(
        { retryAfterMs: op.leaseHeld.heldUntil - now },
        "ibauth: proxy saw a dead session again within a minute of a login; not logging in (login brake)",
      );
      return { brakedUntil: op.leaseHeld.heldUntil };
    }
    if (op.leaseHeld) {
      context.logger.info(
        { heldUntil: op.leaseHeld.heldUntil },
        "ibauth: proxy saw a dead session; another isolate is healing it",
      );
      return {};
    }
    ready.remember(op.record);
    const at = settings.now();
    const failedStatus = isIbauthError(op.error) ? op.error.status : undefined;
    const ipMismatch =
      op.error && ipMismatchSuspected(failedStatus, op.record, at, settings.freshBearerMs)
        ? ipMismatchNote("proxy", op.record, at)
        : undefined;
    if (ipMismatch) ready.ipMismatchFlagged = true;
    await recordOutcome(ready.book, {
      source: "proxy",
      status: op.auth.status(),
      error: op.error,
      ipMismatch,
      now: at,
    });
    if (op.error) {
      const summary = summarizeError(op.error, at);
      context.logger.error(
        {
          step: summary.step,
          code: summary.code,
          status: summary.status,
          ipMismatch: !!ipMismatch,
          hint: ipMismatch?.hint ?? summary.hint,
        },
        `ibauth: proxy could not heal the session (the cron tick retries): ${summary.message}`,
      );
      return {};
    }
    // "tickled": the session was alive, so the 401 was the endpoint's own answer and a replay would not help.
    const healed =
      op.value?.action === "relogin" || op.value?.action === "reinit" || op.value?.action === "login";
    return healed ? { record: op.record } : {};
  })().finally(() => {
    ready.heal.inFlight = undefined;
  });
  return ready.heal.inFlight;
}

/** What a heal came to: a record to replay with, or why there is none (nothing: pass IBKR's answer on). */
export interface HealResult {
  record?: SessionRecord | undefined;
  paused?: true;
  brakedUntil?: number;
}

const pausedProblem = () =>
  problem(503, "the IBKR session is paused by POST /session/logout", {
    hint: "POST /session/login resumes it",
  });

/** Forwards an authenticated caller's /v1/api/* request to the configured IBKR origin, signed with the held session key. */
export async function proxy(
  request: Request,
  context: Context,
  ready: Ready,
  settings: WorkerSettings,
): Promise<Response> {
  try {
    return await forward(request, context, ready, settings);
  } catch (error) {
    const paused = pausedAnswer(error);
    if (paused) return paused;
    if (!(error instanceof UpstreamError)) throw error;
    context.logger.warn(
      { step: "request", code: error.timedOut ? "ERR_TIMEOUT" : "ERR_NETWORK" },
      `ibauth: ${error.message} (proxied request)`,
    );
    if (error.timedOut) {
      return problem(
        504,
        `IBKR did not answer within ${settings.upstreamTimeoutMs} ms; retry`,
        {},
        { "retry-after": "5" },
      );
    }
    return problem(
      502,
      "IBKR did not answer (connection reset, DNS or timeout); retry",
      {},
      { "retry-after": "5" },
    );
  }
}

async function forward(
  request: Request,
  context: Context,
  ready: Ready,
  settings: WorkerSettings,
): Promise<Response> {
  const refused = methodNotProxied(request.method);
  if (refused) return refused;
  const target = proxyTarget(ready.config.origin, rawPathAndQuery(request.url));
  if (!target.ok) return problem(400, `refused: ${target.reason}`);
  const path = target.path;
  if ((await ready.book.read(PAUSE_CACHE_MS))?.paused) return pausedProblem();
  const record = await ready.record();
  if (!record?.bearer) {
    return problem(
      503,
      "no IBKR session yet",
      { hint: "the cron tick logs in within a minute; operators can POST /session/login" },
      { "retry-after": "60" },
    );
  }
  const body = await readBody(request, settings.maxReplayBodyBytes);
  const attempt = async (key: SessionKey) => {
    const done = await ready.pacing.admit(path, request.signal);
    try {
      // Signed per attempt, after the pacing wait: an OAuth 1.0a nonce is single-use and its timestamp must be current.
      const authorization = await ready.signer.authorization(key, request.method, target.url);
      const res = await sendOrFail(settings, target.url, request, body, authorization);
      ready.pacing.observe(res);
      return inspect(res, path);
    } finally {
      done();
    }
  };
  const used = record.bearer;
  let first = await attempt(used);
  const initAt = record.brokerageInitAt ?? Number.NEGATIVE_INFINITY;
  if (first.noBridge && !body.stream && settings.now() - initAt < BRIDGE_SETTLE_MS) {
    // The brokerage session was opened moments ago (by the cron or another isolate): wait, do not re-open it.
    first = await waitForBridge(first, () => attempt(used), settings);
  }
  if (!first.heal) {
    if (ready.ipMismatchFlagged && first.response.ok) {
      // This isolate reported an IP mismatch earlier and IBKR now accepts its requests again.
      ready.ipMismatchFlagged = false;
      await setIpMismatch(ready.book, undefined, settings.now());
    }
    return relay(first.response, path, ready.config.origin);
  }

  const outcome = await heal(ready, settings, context, record.bearer.token);
  if (outcome.paused || outcome.brakedUntil !== undefined) await first.response.body?.cancel();
  if (outcome.paused) return pausedProblem();
  if (outcome.brakedUntil !== undefined) {
    const seconds = Math.max(1, Math.ceil((outcome.brakedUntil - settings.now()) / 1000));
    return problem(
      429,
      "the IBKR session is gone and was logged in less than a minute ago; not logging in again yet",
      { hint: "a proxied /v1/api/logout ends the session; POST /session/logout pauses it instead" },
      { "retry-after": String(seconds) },
    );
  }
  const healed = outcome.record;
  if (!healed?.bearer || body.stream) return relay(first.response, path, ready.config.origin);
  await first.response.body?.cancel();
  const key = healed.bearer;
  const second = await waitForBridge(await attempt(key), () => attempt(key), settings);
  const now = settings.now();
  if (second.response.status === 401 && ipMismatchSuspected(401, healed, now, settings.freshBearerMs)) {
    const note = ipMismatchNote("proxy", healed, now);
    context.logger.error(
      { step: "request", status: 401, ipMismatch: true, hint: note.hint },
      "ibauth: IBKR refused a fresh bearer",
    );
    await setIpMismatch(ready.book, note, now);
    ready.ipMismatchFlagged = true;
  }
  return relay(second.response, path, ready.config.origin);
}
