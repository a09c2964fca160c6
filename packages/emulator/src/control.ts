import type { FaultSpec } from "./types.js";

/** The control surface shared by the programmatic API and POST /__emulator/control. */
export interface EmulatorControls {
  failNext(spec: FaultSpec): void;
  expireAccessTokens(): void;
  expireBearers(): void;
  /** OAuth 1.0a: every live session token issued so far expires now (requests signed with it get 401). */
  expireLst(): void;
  dropBrokerageSession(username?: string): void;
  startCompetingSession(username?: string): void;
  setEgressIp(ip: string): void;
  advance(ms: number): void;
  triggerDailyReset(): void;
  reset(): void;
  state(): EmulatorSnapshot;
  counts(): Record<string, number>;
}

export interface EmulatorSnapshot {
  now: number;
  egressIp: string;
  /** Sessions, with no secrets: no bearer, no session id, no username (users are `user-N` by registration order). */
  sessions: {
    label: string;
    clientId: string;
    user: string;
    ips: string[];
    createdAt: number;
    lastActivity: number;
    msLeft: number;
    brokerage: "held" | "competing" | "none";
    ended: string | null;
  }[];
  accessTokens: number;
  faults: { path: string; method?: string; kind: string; remaining: number }[];
  penalizedIps: Record<string, number>;
  counts: Record<string, number>;
  /** Requests that broke a protocol rule IBKR does not visibly enforce (e.g. Content-Type on a bodyless POST); at most 100. */
  violations: string[];
}

export const CONTROL_ACTIONS = [
  "failNext",
  "expireAccessTokens",
  "expireBearers",
  "expireLst",
  "dropBrokerageSession",
  "startCompetingSession",
  "setEgressIp",
  "advance",
  "triggerDailyReset",
  "reset",
  "state",
  "counts",
] as const;

/** Runs one JSON control command `{action, ...args}`; returns the JSON answer. Throws TypeError on bad input. */
export function runControl(controls: EmulatorControls, command: unknown): unknown {
  if (!command || typeof command !== "object") throw new TypeError("send a JSON object {action, ...args}");
  const { action, ...args } = command as Record<string, unknown>;
  switch (action) {
    case "failNext": {
      // JSON cannot carry a RegExp: `pathRegex` is its source text
      const path = typeof args.pathRegex === "string" ? new RegExp(args.pathRegex) : args.path;
      controls.failNext({ ...(args as object), path } as FaultSpec);
      break;
    }
    case "expireAccessTokens":
    case "expireBearers":
    case "expireLst":
    case "triggerDailyReset":
    case "reset":
      controls[action]();
      break;
    case "dropBrokerageSession":
    case "startCompetingSession":
      controls[action](typeof args.username === "string" ? args.username : undefined);
      break;
    case "setEgressIp":
      if (typeof args.ip !== "string") throw new TypeError("setEgressIp needs {ip}");
      controls.setEgressIp(args.ip);
      break;
    case "advance":
      if (typeof args.ms !== "number") throw new TypeError("advance needs {ms}");
      controls.advance(args.ms);
      break;
    case "state":
      return controls.state();
    case "counts":
      return controls.counts();
    default:
      throw new TypeError(`unknown action ${JSON.stringify(action)}; one of ${CONTROL_ACTIONS.join(", ")}`);
  }
  return { ok: true };
}
