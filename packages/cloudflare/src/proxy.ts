import { isIbauthError, type SessionRecord } from "@ibauth/core";
import { runOperation } from "./operation";
import { ipMismatchNote, ipMismatchSuspected, recordOutcome, setIpMismatch, summarizeError } from "./outcome";
import { forwardedHeaders, relay } from "./proxy-headers";
import { pausedAnswer } from "./proxy-pacing";
import { problem } from "./respond";
import type { Context, Ready } from "./runtime";
import type { WorkerSettings } from "./settings";
import { proxyTarget, rawPathAndQuery } from "./target";

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
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > maxBytes) {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk);
        },
        async pull(controller) {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
      return { stream };
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { bytes: bytes.buffer };
}

function send(
  settings: WorkerSettings,
  url: string,
  request: Request,
  body: Body,
  bearer: string,
): Promise<Response> {
  const headers = forwardedHeaders(request);
  headers.set("authorization", `Bearer ${bearer}`);
  const init: RequestInit & { duplex?: "half" } = { method: request.method, headers, redirect: "manual" };
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

/** IBKR gave no HTTP answer at all (reset, DNS, timeout): the caller gets a 502 that says so. */
class UpstreamError extends Error {
  override readonly name = "UpstreamError";
}

async function sendOrFail(...args: Parameters<typeof send>): Promise<Response> {
  try {
    return await send(...args);
  } catch (cause) {
    throw new UpstreamError("IBKR did not answer", { cause });
  }
}

/**
 * Whether IBKR's answer means the session needs healing: 401 (bearer dead or wrong IP), or 400
 * "no bridge" on /iserver (brokerage session gone). Only such a 400's small body is read; every other
 * body streams through untouched.
 */
interface Inspected {
  response: Response;
  heal: boolean;
  noBridge: boolean;
}

async function inspect(response: Response, path: string): Promise<Inspected> {
  if (response.status === 401) return { response, heal: true, noBridge: false };
  if (response.status !== 400 || !path.startsWith("/v1/api/iserver/")) {
    return { response, heal: false, noBridge: false };
  }
  const text = await response.text();
  const rebuilt = new Response(text, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  const noBridge = /no bridge/i.test(text);
  return { response: rebuilt, heal: noBridge, noBridge };
}

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
 * Heals after the proxy saw 401/"no bridge": first look for a record another isolate already healed;
 * otherwise run one core tick, which logs in only if this isolate wins the login lease. Returns the
 * record to replay with, or undefined to pass IBKR's answer through.
 */
function heal(
  ready: Ready,
  settings: WorkerSettings,
  context: Context,
  usedBearer: string,
): Promise<SessionRecord | undefined> {
  ready.heal.inFlight ??= (async () => {
    const newer = await ready.record(true);
    if (newer?.bearer && newer.bearer.token !== usedBearer) return newer;
    const now = settings.now();
    if (ready.heal.lastAt !== undefined && now - ready.heal.lastAt < settings.healCooldownMs)
      return undefined;
    ready.heal.lastAt = now;
    const op = await runOperation(ready.config, settings, ready.names, context.logger, (auth) => auth.tick());
    if (op.leaseHeld) {
      context.logger.info(
        { heldUntil: op.leaseHeld.heldUntil },
        "ibauth: proxy saw a dead session; another isolate is healing it",
      );
      return undefined;
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
      return undefined;
    }
    // "tickled": the session was alive, so the 401 was the endpoint's own answer and a replay would not help.
    const healed =
      op.value?.action === "relogin" || op.value?.action === "reinit" || op.value?.action === "login";
    return healed ? op.record : undefined;
  })().finally(() => {
    ready.heal.inFlight = undefined;
  });
  return ready.heal.inFlight;
}

/** Forwards an authenticated caller's /v1/api/* request to the configured IBKR origin with the held bearer. */
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
      { step: "request", code: "ERR_NETWORK" },
      "ibauth: IBKR did not answer a proxied request",
    );
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
  const target = proxyTarget(ready.config.origin, rawPathAndQuery(request.url));
  if (!target.ok) return problem(400, `refused: ${target.reason}`);
  const path = new URL(target.url).pathname;
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
  const attempt = async (bearer: string) => {
    const done = await ready.pacing.admit(path, request.signal);
    try {
      const res = await sendOrFail(settings, target.url, request, body, bearer);
      ready.pacing.observe(res);
      return inspect(res, path);
    } finally {
      done();
    }
  };
  let first = await attempt(record.bearer.token);
  const initAt = record.brokerageInitAt ?? Number.NEGATIVE_INFINITY;
  if (first.noBridge && !body.stream && settings.now() - initAt < BRIDGE_SETTLE_MS) {
    // The brokerage session was opened moments ago (by the cron or another isolate): wait, do not re-open it.
    const token = record.bearer.token;
    first = await waitForBridge(first, () => attempt(token), settings);
  }
  if (!first.heal) {
    if (ready.ipMismatchFlagged && first.response.ok) {
      // This isolate reported an IP mismatch earlier and IBKR now accepts its requests again.
      ready.ipMismatchFlagged = false;
      await setIpMismatch(ready.book, undefined, settings.now());
    }
    return relay(first.response);
  }

  const healed = await heal(ready, settings, context, record.bearer.token);
  if (!healed?.bearer || body.stream) return relay(first.response);
  await first.response.body?.cancel();
  const token = healed.bearer.token;
  const second = await waitForBridge(await attempt(token), () => attempt(token), settings);
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
  return relay(second.response);
}
