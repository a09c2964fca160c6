// Runs one cell of the matrix: a fresh SDK against the (reset) emulator, the fault armed on one
// endpoint, the public call raced against a real-time watchdog, then the outcome and the pacing checked
// from the requests the SDK actually sent.
import { isIbauthError } from "@ibauth/core";
import type { Emulator, Oauth1Credentials } from "@ibauth/emulator";
import type { Fault, Mode, Step } from "./cells";
import { codesFor, DATA_PATH, NO_BRIDGE } from "./cells";
import {
  type ClientKeys,
  type Hit,
  type Login,
  makeAuth,
  recordingFetch,
  START,
  type VirtualClock,
} from "./harness";

export const CREDENTIAL = "faultuser";
/** Generous: the suite shares 2 cores with other runtimes' tests, and a slow answer is not the fault under test. */
export const TIMEOUT_MS = 5000;
/** For the "timeout" fault only: a hung request then costs little real time. */
export const HANG_TIMEOUT_MS = 1000;
export const RETRY = { attempts: 3, baseDelayMs: 500 };
/** Real-time bound on any one public call; hitting it means the SDK hung. */
export const WATCHDOG_MS = 10_000;
/** A fault that outlasts every retry. */
const PERSISTENT = 100;
/** Long enough for any Retry-After the matrix injects and the validate 1/min limit. */
const AFTER_FAULT_MS = 61_000;
/** Requests to the refusing endpoint the SDK may send: its retries plus one replay after a heal. */
export const MAX_HITS = RETRY.attempts + 1;

export interface CellResult {
  login: Login;
  step: string;
  fault: string;
  mode: Mode;
  /** "recovered", "ERR_xxx", "returned HTTP nnn" (auth.fetch hands IBKR's answer back) or "HANG". */
  outcome: string;
  /** Requests to the refusing endpoint after the fault was armed. */
  hits: number;
  problems: string[];
}

export interface CellContext {
  url: string;
  emulator: Emulator;
  keys: ClientKeys;
  clock: VirtualClock;
  /** The OAuth 1.0a consumer the emulator knows, and a signature key it does not. */
  oauth1: Oauth1Credentials;
  foreignSignatureKey: string;
}

const isIbkr = (h: Hit) => !h.path.startsWith("/__emulator");
/** The requests the SDK sent (not the copies a cell delivered on its own). */
const sent = (hits: Hit[]) => hits.filter((h) => !h.duplicate);

function matches(step: Step, h: Hit): boolean {
  return h.path === step.path && (!step.method || h.method === step.method);
}

type Settled = { value?: unknown; error?: unknown; hung?: true };

async function settle(call: Promise<unknown>): Promise<Settled> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<{ hung: true }>((r) => {
    timer = setTimeout(() => r({ hung: true }), WATCHDOG_MS);
  });
  try {
    return await Promise.race([
      call.then(
        (value) => ({ value }),
        (error) => ({ error }),
      ),
      watchdog,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function describe(step: Step, fault: Fault, settled: Settled, problems: string[]): Promise<string> {
  if (settled.hung) {
    problems.push(`no answer within ${WATCHDOG_MS} ms`);
    return "HANG";
  }
  if ("error" in settled) {
    const e = settled.error;
    if (!isIbauthError(e)) {
      problems.push(`threw a non-IbauthError: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      return "untyped error";
    }
    if (e.step !== step.name) problems.push(`error names step "${e.step}", not "${step.name}"`);
    if (fault.explains && !fault.explains.test(`${e.message} ${e.ibkrMessage ?? ""} ${e.hint ?? ""}`))
      problems.push(`the error does not say ${fault.explains} (${e.message}; hint: ${e.hint})`);
    return e.code;
  }
  if (settled.value instanceof Response) {
    const text = await settled.value.text();
    if (fault.explains && !settled.value.ok && !fault.explains.test(text))
      problems.push(`IBKR's answer handed back does not say ${fault.explains}`);
    let json = true;
    try {
      JSON.parse(text);
    } catch {
      json = false;
    }
    return settled.value.ok && json ? "recovered" : `returned HTTP ${settled.value.status}`;
  }
  return "recovered";
}

/** Pacing while IBKR refuses: bounded retries, Retry-After honoured, no 429 the SDK provoked itself. */
function checkPacing(step: Step, fault: Fault, all: Hit[], problems: string[]): number {
  const hits = sent(all);
  const refused = hits.filter((h) => matches(step, h)).length;
  if (refused > MAX_HITS)
    problems.push(`${refused} requests to ${step.path} while it refused (max ${MAX_HITS})`);
  // The IP lookup is another service: its 429 does not hold back IBKR requests, and the reverse.
  hits.forEach((h, i) => {
    if (h.status !== 429) return;
    if (!fault.name.startsWith("429")) problems.push(`the emulator's own pacing answered 429 on ${h.path}`);
    const next = hits.slice(i + 1).find((n) => isIbkr(n) === isIbkr(h));
    const seconds = Number(h.retryAfter);
    // Retry-After binds any service; without one, IBKR (penalty box) still gets a back-off.
    const wait =
      h.retryAfter && Number.isFinite(seconds) ? seconds * 1000 : isIbkr(h) ? RETRY.baseDelayMs : 0;
    if (next && next.at - h.at < wait) {
      problems.push(
        `${next.method} ${next.path} sent ${next.at - h.at} ms after a 429 (must wait ${wait} ms)`,
      );
    }
  });
  return refused;
}

function why(settled: Settled): string {
  if (settled.hung) return "hung";
  if (isIbauthError(settled.error)) return `${settled.error.code}: ${settled.error.message}`;
  if (settled.value instanceof Response) return `HTTP ${settled.value.status}`;
  return String(settled.error);
}

/** What the outcome must be: a code that fits, and the heals auth.fetch owes its caller. */
function checkOutcome(
  step: Step,
  fault: Fault,
  mode: Mode,
  outcome: string,
  armed: Hit[],
  problems: string[],
) {
  const codes = codesFor(step, fault);
  if (outcome.startsWith("ERR_") && !codes.includes(outcome))
    problems.push(
      `${outcome} does not describe a ${fault.name} at ${step.name} (expected ${codes.join(" or ")})`,
    );
  // "no bridge" always means the brokerage session is gone. A 401 on a live session can be the endpoint's
  // own refusal (/portfolio/* before /portfolio/accounts): the SDK may hand it back once a tickle shows
  // the session alive, so there only the probe is required.
  if (step.name !== "request" || mode !== "once" || outcome === "recovered") return;
  if (fault.name === NO_BRIDGE) problems.push('auth.fetch must heal one "no bridge" and replay');
  if (fault.name === "401" && !armed.some((h) => h.path === "/v1/api/tickle"))
    problems.push("auth.fetch handed back a 401 without checking the session");
}

/** OAuth 1.0a: IBKR refuses a nonce it has seen, so no request, retry or replay may carry one twice. */
function checkNonces(hits: Hit[], problems: string[]) {
  const seen = new Set<string>();
  for (const h of sent(hits)) {
    if (!h.nonce) continue;
    if (seen.has(h.nonce)) problems.push(`the SDK sent an oauth_nonce twice (${h.method} ${h.path})`);
    seen.add(h.nonce);
  }
}

/** The recorder is the instrument for the pacing checks: it must agree with the emulator's own count. */
function crossCheck(step: Step, emulator: Emulator, hits: Hit[], problems: string[]) {
  const counted = Object.entries(emulator.counts())
    .filter(([key]) => {
      const [method = "", path = ""] = key.split(" ");
      return matches(step, { method, path, at: 0 });
    })
    .reduce((sum, [, n]) => sum + n, 0);
  const recorded = hits.filter((h) => matches(step, h)).length;
  if (counted !== recorded)
    problems.push(`the emulator counted ${counted} requests to ${step.path}, the recorder ${recorded}`);
}

export async function runCell(
  ctx: CellContext,
  login: Login,
  step: Step,
  fault: Fault,
  mode: Mode,
): Promise<CellResult> {
  ctx.emulator.reset();
  ctx.clock.t = START;
  const rec = recordingFetch(ctx.clock);
  const oauth1 =
    login === "oauth1"
      ? {
          ...ctx.oauth1.client,
          ...(fault.foreignSignatureKey ? { signatureKey: ctx.foreignSignatureKey } : {}),
        }
      : undefined;
  const auth = makeAuth({
    url: ctx.url,
    keys: ctx.keys,
    clock: ctx.clock,
    credential: CREDENTIAL,
    fetch: rec.fetch,
    overrides: { timeoutMs: fault.inject?.kind === "hang" ? HANG_TIMEOUT_MS : TIMEOUT_MS, retry: RETRY },
    ...(oauth1 ? { oauth1 } : {}),
  });
  const result = (outcome: string, hits: number, problems: string[]): CellResult => ({
    login,
    step: step.name,
    fault: fault.name,
    mode,
    outcome,
    hits,
    problems,
  });
  if (step.connected) {
    const ready = await settle(auth.connect());
    if (!ready.value) return result("setup failed", 0, [`connect before the fault failed: ${why(ready)}`]);
    ctx.clock.advance(61_000); // the next keepalive slot: no pacing limit is close
  }

  const problems: string[] = [];
  const armedAt = rec.hits.length;
  if (fault.inject)
    ctx.emulator.failNext({
      path: step.path,
      ...(step.method ? { method: step.method } : {}),
      count: mode === "once" ? 1 : PERSISTENT,
      ...fault.inject,
    });
  fault.arm?.({ emulator: ctx.emulator, step, duplicateNext: rec.duplicateNext });
  const outcome = await describe(step, fault, await settle(step.run(auth)), problems);
  // A caller that tries again at once after a 429 must not make the SDK send before Retry-After; and the
  // IP lookup's 429 is another service's: it must not hold back requests to IBKR.
  if (fault.name.startsWith("429")) {
    const again = await settle(step.run(auth));
    if (again.hung) problems.push("hung when called again after the 429");
    const e = again.error;
    if (step.name === "ip" && isIbauthError(e) && e.code === "ERR_RATE_LIMITED" && e.step !== "ip")
      problems.push(`the IP lookup's 429 paused IBKR traffic (${e.step}: ${e.message})`);
  }
  const armed = rec.hits.slice(armedAt);
  checkOutcome(step, fault, mode, outcome, armed, problems);
  const hits = checkPacing(step, fault, armed, problems);

  // Self-healing afterwards: once the fault has passed, the next user call works (not after logout).
  if (mode === "once" && step.name !== "logout" && outcome !== "HANG") {
    if (outcome !== "recovered") await rec.settled();
    ctx.clock.advance(AFTER_FAULT_MS);
    const after = await settle(auth.fetch(DATA_PATH));
    if (!(after.value instanceof Response && after.value.ok))
      problems.push(`the next auth.fetch after the fault did not succeed (${why(after)})`);
  }
  // nothing this cell left running may reach the next cell's emulator
  if (outcome !== "recovered" || problems.length) await rec.settled();
  crossCheck(step, ctx.emulator, rec.hits, problems);
  if (login === "oauth1") checkNonces(rec.hits, problems);
  return result(outcome, hits, problems);
}
