// The axes of the fault matrix: the login (OAuth 2.0 or OAuth 1.0a), the steps of the flow (where the
// fault is injected and which public call reaches it) and the faults (what the emulator answers instead).
// The steps after the login (init, validate, tickle, logout, request) and the faults that are plain
// transport or HTTP answers run under both logins; the login's own steps and OAuth 1.0a's own faults
// (an expired live session token, a signature IBKR cannot verify, a nonce it has seen) under theirs.
import type { IBAuth } from "@ibauth/core";
import type { Emulator, FaultSpec } from "@ibauth/emulator";
import type { Login } from "./harness";

export type Mode = "once" | "persistent";

export interface Step {
  name: string;
  /** The logins that have this step. */
  logins: Login[];
  /** The endpoint the fault is injected on (emulator path). */
  path: string;
  method?: string;
  /** Is the session logged in before the fault is armed? */
  connected: boolean;
  /** The public call under test; resolves to a Response only for auth.fetch. */
  run: (auth: IBAuth) => Promise<unknown>;
}

/** A data endpoint behind the brokerage session, so both 401 and "no bridge" are meaningful. */
export const DATA_PATH = "/v1/api/iserver/accounts";

const OAUTH2: Login[] = ["oauth2"];
const OAUTH1: Login[] = ["oauth1"];
const BOTH: Login[] = ["oauth2", "oauth1"];
const connect = (a: IBAuth) => a.connect();

export const STEPS: Step[] = [
  {
    name: "token",
    logins: OAUTH2,
    path: "/oauth2/api/v1/token",
    method: "POST",
    connected: false,
    run: connect,
  },
  { name: "ip", logins: OAUTH2, path: "/__emulator/ip", method: "GET", connected: false, run: connect },
  {
    name: "bearer",
    logins: OAUTH2,
    path: "/gw/api/v1/sso-sessions",
    method: "POST",
    connected: false,
    run: connect,
  },
  {
    name: "lst",
    logins: OAUTH1,
    path: "/v1/api/oauth/live_session_token",
    method: "POST",
    connected: false,
    run: connect,
  },
  { name: "init", logins: BOTH, path: "/v1/api/iserver/auth/ssodh/init", connected: false, run: connect },
  {
    name: "validate",
    logins: BOTH,
    path: "/v1/api/sso/validate",
    connected: true,
    run: (a) => a.validateSso(),
  },
  // The keepalive as adapters drive it: one tick.
  { name: "tickle", logins: BOTH, path: "/v1/api/tickle", connected: true, run: (a) => a.tick() },
  {
    name: "logout",
    logins: BOTH,
    path: "/v1/api/logout",
    method: "POST",
    connected: true,
    run: (a) => a.logout(),
  },
  {
    name: "request",
    logins: BOTH,
    path: DATA_PATH,
    method: "GET",
    connected: true,
    run: (a) => a.fetch(DATA_PATH),
  },
];

export const RETRY_AFTER_S = 30;

export const NO_BRIDGE = '"no bridge"';

/** What a fault that is not an `emu.failNext` answer is armed with. */
export interface Arming {
  emulator: Emulator;
  step: Step;
  /** The next request to this path reaches IBKR twice: a copy first (its answer dropped), then the SDK's. */
  duplicateNext: (path: string) => void;
}

export interface Fault {
  name: string;
  /** `emu.failNext` options, without path and count. */
  inject?: Omit<FaultSpec, "path" | "method" | "count">;
  /** Armed otherwise (OAuth 1.0a's own faults). */
  arm?: (a: Arming) => void;
  /** The SDK is built with this OAuth 1.0a signature key instead of the registered one. */
  foreignSignatureKey?: true;
  /** IbauthError codes that describe this fault truthfully. */
  codes: string[];
  /** Where the fault applies; unset: every login, step and mode. */
  logins?: Login[];
  steps?: string[];
  /** Narrower steps under one login. */
  stepsByLogin?: Partial<Record<Login, string[]>>;
  modes?: Mode[];
  /** What the error's message or hint must say (the cause and what to check). */
  explains?: RegExp;
}

export const FAULTS: Fault[] = [
  { name: "500", inject: { status: 500 }, codes: ["ERR_HTTP", "ERR_SESSION"] },
  { name: "503", inject: { status: 503 }, codes: ["ERR_HTTP", "ERR_SESSION"] },
  {
    name: "429 Retry-After",
    inject: { status: 429, headers: { "Retry-After": String(RETRY_AFTER_S) } },
    codes: ["ERR_RATE_LIMITED"],
  },
  { name: "429", inject: { status: 429 }, codes: ["ERR_RATE_LIMITED"] },
  {
    name: "timeout",
    inject: { kind: "hang" },
    codes: ["ERR_TIMEOUT"],
    // A hung request costs real time (the timeout, up to 3 attempts). After the login, a timeout is handled
    // by the same code under both logins (http.ts), and a re-signed retry is covered by "reset" (cheap), so
    // under OAuth 1.0a the column runs only at its own step.
    stepsByLogin: { oauth1: ["lst"] },
  },
  { name: "reset", inject: { kind: "reset" }, codes: ["ERR_NETWORK"] },
  { name: "HTML page", inject: { kind: "html", status: 502 }, codes: ["ERR_HTTP", "ERR_PROTOCOL"] },
  { name: "invalid JSON", inject: { kind: "invalid-json" }, codes: ["ERR_PROTOCOL"] },
  { name: "401", inject: { status: 401 }, codes: ["ERR_AUTH", "ERR_SESSION", "ERR_HTTP"] },
  { name: "410 Gone", inject: { status: 410, body: "" }, codes: ["ERR_SESSION", "ERR_HTTP"] },
  {
    name: NO_BRIDGE,
    inject: { status: 400, body: { error: "Bad Request: no bridge", statusCode: 400 } },
    codes: ["ERR_SESSION", "ERR_HTTP"],
  },
];

/**
 * OAuth 1.0a's own faults. An expired LST happens once (IBKR answers 401 until a new one is computed);
 * a signature key IBKR does not have persists (a config error: no retry fixes it, the error must say
 * which key); a replayed nonce is IBKR refusing a request whose copy it already saw (a retrying proxy):
 * the SDK must cope, and never reuse a nonce itself (checked in every OAuth 1.0a cell).
 */
export const OAUTH1_FAULTS: Fault[] = [
  {
    name: "expired LST",
    arm: (a) => a.emulator.expireLst(),
    codes: ["ERR_AUTH", "ERR_SESSION"],
    logins: OAUTH1,
    steps: ["validate", "tickle", "logout", "request"],
    modes: ["once"],
  },
  {
    name: "replayed nonce",
    arm: (a) => a.duplicateNext(a.step.path),
    codes: ["ERR_AUTH"],
    logins: OAUTH1,
    steps: ["lst", "init", "tickle", "request"],
    modes: ["once"],
    explains: /nonce/,
  },
  {
    name: "wrong signature key",
    foreignSignatureKey: true,
    codes: ["ERR_AUTH"],
    logins: OAUTH1,
    steps: ["lst"],
    modes: ["persistent"],
    // our hint, not IBKR's message (IBKR's 401 may say nothing)
    explains: /signatureKey is the private key of the uploaded signature pair/,
  },
];

/** The cells of one login and fault mode, in table order. */
export function cellsFor(login: Login, mode: Mode): { step: Step; fault: Fault }[] {
  const applies = (step: Step, f: Fault) =>
    (!f.logins || f.logins.includes(login)) &&
    (!f.steps || f.steps.includes(step.name)) &&
    (f.stepsByLogin?.[login]?.includes(step.name) ?? true) &&
    (!f.modes || f.modes.includes(mode));
  return STEPS.filter((s) => s.logins.includes(login)).flatMap((step) =>
    [...FAULTS, ...OAUTH1_FAULTS].filter((f) => applies(step, f)).map((fault) => ({ step, fault })),
  );
}

/** Answers that come as HTTP statuses (not transport failures, not 429). */
const STATUS_FAULTS = new Set(["500", "503", "HTML page", "401", "410 Gone", NO_BRIDGE]);

/**
 * The codes that tell the truth about a fault at a step. The IP lookup is not IBKR: its HTTP errors are
 * plain ERR_HTTP, never an IBKR session or credential verdict. At the token and bearer steps a 400 is
 * IBKR refusing the signed request, so ERR_AUTH fits there too.
 */
export function codesFor(step: Step, fault: Fault): string[] {
  if (step.name === "ip" && STATUS_FAULTS.has(fault.name)) return ["ERR_HTTP"];
  if ((step.name === "token" || step.name === "bearer" || step.name === "lst") && fault.name === NO_BRIDGE)
    return ["ERR_AUTH", ...fault.codes];
  return fault.codes;
}
