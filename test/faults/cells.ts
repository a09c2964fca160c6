// The two axes of the fault matrix: the steps of the flow (where the fault is injected and which public
// call reaches it) and the faults (what the emulator answers instead).
import type { IBAuth } from "@ibauth/core";
import type { FaultSpec } from "@ibauth/emulator";

export interface Step {
  name: string;
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

export const STEPS: Step[] = [
  { name: "token", path: "/oauth2/api/v1/token", method: "POST", connected: false, run: (a) => a.connect() },
  { name: "ip", path: "/__emulator/ip", method: "GET", connected: false, run: (a) => a.connect() },
  {
    name: "bearer",
    path: "/gw/api/v1/sso-sessions",
    method: "POST",
    connected: false,
    run: (a) => a.connect(),
  },
  { name: "init", path: "/v1/api/iserver/auth/ssodh/init", connected: false, run: (a) => a.connect() },
  { name: "validate", path: "/v1/api/sso/validate", connected: true, run: (a) => a.validateSso() },
  // The keepalive as adapters drive it: one tick.
  { name: "tickle", path: "/v1/api/tickle", connected: true, run: (a) => a.tick() },
  { name: "logout", path: "/v1/api/logout", method: "POST", connected: true, run: (a) => a.logout() },
  { name: "request", path: DATA_PATH, method: "GET", connected: true, run: (a) => a.fetch(DATA_PATH) },
];

export const RETRY_AFTER_S = 30;

export const NO_BRIDGE = '"no bridge"';

export interface Fault {
  name: string;
  /** `emu.failNext` options, without path and count. */
  inject: Omit<FaultSpec, "path" | "method" | "count">;
  /** IbauthError codes that describe this fault truthfully. */
  codes: string[];
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
  { name: "timeout", inject: { kind: "hang" }, codes: ["ERR_TIMEOUT"] },
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

/** Answers that come as HTTP statuses (not transport failures, not 429). */
const STATUS_FAULTS = new Set(["500", "503", "HTML page", "401", "410 Gone", NO_BRIDGE]);

/**
 * The codes that tell the truth about a fault at a step. The IP lookup is not IBKR: its HTTP errors are
 * plain ERR_HTTP, never an IBKR session or credential verdict. At the token and bearer steps a 400 is
 * IBKR refusing the signed request, so ERR_AUTH fits there too.
 */
export function codesFor(step: Step, fault: Fault): string[] {
  if (step.name === "ip" && STATUS_FAULTS.has(fault.name)) return ["ERR_HTTP"];
  if ((step.name === "token" || step.name === "bearer") && fault.name === NO_BRIDGE)
    return ["ERR_AUTH", ...fault.codes];
  return fault.codes;
}
