import { apiEndpoint } from "./api.js";
import { Clock } from "./clock.js";
import type { Call, Env } from "./context.js";
import { type EmulatorControls, type EmulatorSnapshot, runControl } from "./control.js";
import { Faults } from "./faults.js";
import { IssuerKey, KeyRing } from "./keys.js";
import { LST_PATH, liveSessionTokenEndpoint, Oauth1Registry } from "./oauth1.js";
import { Pacer } from "./pacing.js";
import { errorFor, htmlPage, json } from "./responses.js";
import { ssoSessionsEndpoint } from "./sso.js";
import { EmulatorState } from "./state.js";
import { tokenEndpoint } from "./token.js";
import type { EmulatorClient, EmulatorOptions, FaultSpec, RequestLogEntry } from "./types.js";
import { answerFault, bodyText, sleep, waitForAbort } from "./wire.js";

/** What a request turns into: a response, or a dropped connection (the Node server destroys the socket). */
export type Outcome = { response: Response } | { reset: true };

/** Internal entry for the Node server: the request plus whether it carried a Content-Length. */
export const HANDLE = Symbol.for("ibauth.emulator.handle");

export interface Emulator extends EmulatorControls {
  /** Same signature as global fetch, and usable as a fetch handler `(request) => Response`. */
  fetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  /** The emulator's clock (ms): the injected or real time plus everything advance() added. */
  now(): number;
  /** Redacted request log: method, path, status, IP and time only. */
  readonly requests: readonly RequestLogEntry[];
  /** Runs a JSON control command, as POST /__emulator/control does. */
  control(command: unknown): unknown;
  [HANDLE](
    request: Request,
    lengthKnown: boolean,
    signal?: AbortSignal,
    localOrigin?: string,
  ): Promise<Outcome>;
}

const REQUEST_INIT_KEYS = new Set([
  "method",
  "headers",
  "body",
  "signal",
  "redirect",
  "duplex",
  "cache",
  "credentials",
  "keepalive",
  "mode",
  "referrer",
  "referrerPolicy",
  "integrity",
  "window",
  "priority",
]);

function checkClients(clients: EmulatorClient[] = [], oauth1Consumers = 0): Map<string, EmulatorClient> {
  if (!Array.isArray(clients) || (clients.length === 0 && oauth1Consumers === 0))
    throw new TypeError("createEmulator needs options.clients or options.oauth1Consumers: at least one");
  const map = new Map<string, EmulatorClient>();
  for (const c of clients) {
    if (!c?.clientId) throw new TypeError("every client needs a clientId");
    if (!c.keys || Object.keys(c.keys).length === 0)
      throw new TypeError(`client ${c.clientId} needs keys: { kid: publicKeyPem }`);
    if (!Array.isArray(c.credentials))
      throw new TypeError(`client ${c.clientId} needs credentials: [username]`);
    map.set(c.clientId, c);
  }
  return map;
}

/**
 * What no IBKR sample sends, recorded (not refused: IBKR's answer to it is unknown) for the state
 * snapshot, which the conformance suite asserts empty: a Content-Type on a POST without a body (IBKR's
 * Postman collection sends neither body nor Content-Type on /tickle and /logout).
 */
async function protocolViolation(call: Call): Promise<string | undefined> {
  const type = call.request.headers.get("content-type");
  if (call.method !== "POST" || !type) return undefined;
  const length = call.request.headers.get("content-length");
  // a Request handed to the fetch handler has no Content-Length header: measure a copy of its body
  const empty =
    length === "0" || (length === null && (await call.request.clone().arrayBuffer()).byteLength === 0);
  return empty ? `POST ${call.path}: Content-Type "${type}" on a request without a body` : undefined;
}

/** A local IBKR Web API emulator (protocol notes §9): a fetch handler with state, pacing and fault injection. */
export function createEmulator(options: EmulatorOptions): Emulator {
  const clients = checkClients(options.clients, options.oauth1Consumers?.length ?? 0);
  const oauth1 = options.oauth1Consumers?.length ? new Oauth1Registry(options.oauth1Consumers) : null;
  const initialIp = options.egressIp ?? "203.0.113.10";
  let egressIp = initialIp;
  const clock = new Clock(options.now);
  const state = new EmulatorState(clock, {
    idleTimeoutMs: options.idleTimeoutMs ?? 360_000,
    maxSessionMs: options.maxSessionMs ?? 86_400_000,
    dailyResetHourUtc: options.dailyReset === false ? null : (options.dailyReset?.hourUtc ?? 5),
  });
  const env: Env = {
    clock,
    clients,
    keys: new KeyRing(),
    issuer: new IssuerKey(),
    state,
    pacer: options.rateLimits === false ? null : new Pacer(options.rateLimits),
    oauth1,
    settings: {
      accessTokenTtlSec: options.accessTokenTtlSec ?? 86_400,
      lstLifetimeSec: options.lstLifetimeSec ?? 86_400,
      maxAssertionLifetimeSec: options.maxAssertionLifetimeSec ?? 600,
      clockSkewSec: options.clockSkewSec ?? 10,
      maxSsoLifetimeSec: options.maxSsoLifetimeSec ?? 86_400,
      revokeEarlierBearers: options.revokeEarlierBearers ?? false,
      bridgeDelayMs: options.bridgeDelayMs ?? 0,
    },
    // constants, not random: workerd forbids random values at global scope, where users may build this
    serverInfo: {
      MAC: "02:00:5E:10:00:01",
      serverName: "JifEmu0001",
      serverVersion: "Build 10.30.1 (@ibauth/emulator)",
    },
  };
  const faults = new Faults();
  const log: RequestLogEntry[] = [];
  const maxLog = options.maxLogEntries ?? 10_000;
  const counts = new Map<string, number>();
  const violations: string[] = [];
  let hangs = new AbortController(); // reset() releases requests parked by "hang" faults
  const usernames = () => [
    ...new Set([...[...clients.values()].flatMap((c) => c.credentials), ...(oauth1?.credentials() ?? [])]),
  ];

  const controls: EmulatorControls = {
    failNext: (spec: FaultSpec) => faults.add(spec),
    expireAccessTokens() {
      for (const t of state.accessTokens.values()) t.expiresAt = Math.min(t.expiresAt, clock.now());
    },
    expireBearers() {
      for (const s of state.sessions.values()) s.ended ??= "expired-bearer";
    },
    expireLst() {
      oauth1?.expireAll(clock.now());
    },
    dropBrokerageSession(username?: string) {
      if (username) state.holders.delete(username);
      else state.holders.clear();
    },
    startCompetingSession(username?: string) {
      for (const n of username ? [username] : usernames()) state.holders.set(n, { external: true });
    },
    setEgressIp(ip: string) {
      if (typeof ip !== "string" || !ip) throw new TypeError("setEgressIp needs an IP string");
      egressIp = ip;
    },
    advance: (ms: number) => clock.advance(ms),
    triggerDailyReset() {
      for (const s of state.sessions.values()) s.ended ??= "daily-reset";
      state.holders.clear();
    },
    reset() {
      state.clear();
      oauth1?.clear();
      faults.clear();
      env.pacer?.clear();
      log.length = 0;
      counts.clear();
      violations.length = 0;
      egressIp = initialIp;
      hangs.abort(new TypeError("emulator reset"));
      hangs = new AbortController();
    },
    state: () => snapshot(),
    counts: () => Object.fromEntries(counts),
  };

  function snapshot(): EmulatorSnapshot {
    const users = usernames();
    return {
      now: clock.now(),
      egressIp,
      sessions: [...state.sessions.values()].map((s) => {
        const ended = state.check(s) ?? null;
        return {
          label: s.label,
          clientId: s.clientId,
          user: `user-${users.indexOf(s.username) + 1}`,
          ips: [...s.ips],
          createdAt: s.createdAt,
          lastActivity: s.lastActivity,
          msLeft: ended ? 0 : state.msLeft(s),
          brokerage: ended ? "none" : state.holds(s) ? "held" : state.competingFor(s) ? "competing" : "none",
          ended,
        };
      }),
      accessTokens: [...state.accessTokens.values()].filter((t) => t.expiresAt > clock.now()).length,
      faults: faults.pending(),
      penalizedIps: env.pacer?.snapshot(clock.now()) ?? {},
      counts: Object.fromEntries(counts),
      violations: [...violations],
    };
  }

  function corsHeaders(request: Request): Record<string, string> {
    return {
      "access-control-allow-origin": request.headers.get("origin") ?? "*",
      "access-control-allow-credentials": "true",
      "access-control-expose-headers": "retry-after, content-length",
      vary: "Origin",
    };
  }

  async function controlEndpoint(call: Call): Promise<Response> {
    if (call.path === "/__emulator/state" && call.method === "GET") return json(snapshot());
    if (call.path !== "/__emulator/control" || call.method !== "POST")
      return json(
        { ok: false, error: "control endpoints: POST /__emulator/control, GET /__emulator/state" },
        404,
      );
    try {
      return json(runControl(controls, JSON.parse(await bodyText(call.request))));
    } catch (e) {
      return json({ ok: false, error: e instanceof Error ? e.message : String(e) }, 400);
    }
  }

  async function route(call: Call, lengthKnown: boolean): Promise<Response> {
    if (call.path === "/__emulator/ip")
      return new Response(call.ip, { headers: { "content-type": "text/plain" } });
    // the WAF in front of api.ibkr.com: empty User-Agent -> 403 page; POST without length -> 411 (protocol §3.0)
    if (!call.request.headers.get("user-agent")?.trim()) return htmlPage(403, "Access Denied");
    if (call.method === "POST" && !lengthKnown) return htmlPage(411, "Length Required");
    const violation = await protocolViolation(call);
    if (violation && violations.length < 100) violations.push(violation);
    const penalty = env.pacer?.penalized(call.ip, clock.now()) ?? 0;
    if (penalty)
      return errorFor(call.path, 429, "Too many requests: this IP is in the penalty box", {
        "retry-after": String(Math.ceil(penalty / 1000)),
      });
    if (call.path === "/oauth2/api/v1/token") return tokenEndpoint(call, env);
    if (call.path === "/gw/api/v1/sso-sessions") return ssoSessionsEndpoint(call, env);
    if (call.path === LST_PATH) return liveSessionTokenEndpoint(call, env);
    if (call.path.startsWith("/v1/api/")) return apiEndpoint(call, env);
    return errorFor(call.path, 404, "Not Found");
  }

  async function handle(
    request: Request,
    lengthKnown: boolean,
    signal?: AbortSignal,
    localOrigin?: string,
  ): Promise<Outcome> {
    const url = new URL(request.url);
    const method = request.method.toUpperCase();
    const path = url.pathname;
    const withCors = (response: Response) => {
      if (options.cors) for (const [k, v] of Object.entries(corsHeaders(request))) response.headers.set(k, v);
      return response;
    };
    if (options.cors && method === "OPTIONS" && request.headers.has("access-control-request-method")) {
      return {
        response: withCors(
          new Response(null, {
            status: 204,
            headers: {
              "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
              "access-control-allow-headers": request.headers.get("access-control-request-headers") ?? "*",
              "access-control-max-age": "600",
            },
          }),
        ),
      };
    }
    const ip = request.headers.get("x-emulator-client-ip")?.trim() || egressIp;
    const call: Call = { request, url, method, path, ip, localOrigin };
    if (path.startsWith("/__emulator/") && path !== "/__emulator/ip")
      return { response: withCors(await controlEndpoint(call)) };

    const entry: RequestLogEntry = { at: clock.now(), method, path, status: 0, ip };
    log.push(entry);
    if (log.length > maxLog) log.splice(0, log.length - maxLog);
    const key = `${method} ${path}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const abort = signal ? AbortSignal.any([signal, hangs.signal]) : hangs.signal;

    if (options.latencyMs) await sleep(options.latencyMs, abort);
    const fault = faults.take(method, path);
    if (fault?.delayMs) await sleep(fault.delayMs, abort);
    if (fault?.kind === "reset") return { reset: true };
    if (fault?.kind === "hang") await waitForAbort(abort);
    const response = withCors(
      fault ? answerFault(fault, path) : await route(call, lengthKnown).catch(internalError(path)),
    );
    entry.status = response.status;
    return { response };
  }

  // a bug in the emulator should read as one, not as an IBKR answer the SDK then tries to heal
  const internalError = (path: string) => (e: unknown) =>
    errorFor(path, 500, `emulator internal error: ${e instanceof Error ? e.message : String(e)}`);

  async function fetchLike(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    let request: Request;
    let lengthKnown: boolean;
    // used as a fetch handler, the 2nd argument is an env (workerd) or connection info (Deno), not a RequestInit
    const initLike =
      init && typeof init === "object" && Object.keys(init).every((k) => REQUEST_INIT_KEYS.has(k))
        ? init
        : undefined;
    if (input instanceof Request && initLike?.body === undefined) {
      // a Request is taken as it would be on the wire: Content-Length only if the header is there
      request = initLike ? new Request(input, initLike) : input;
      lengthKnown = request.headers.has("content-length");
    } else {
      request = new Request(input, initLike);
      // fetch() adds Content-Length for every body except a stream (and 0 for a POST without body)
      lengthKnown = request.headers.has("content-length") || !(initLike?.body instanceof ReadableStream);
    }
    const outcome = await handle(request, lengthKnown, request.signal);
    if ("reset" in outcome) {
      const cause = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
      throw new TypeError("fetch failed", { cause });
    }
    return outcome.response;
  }

  return {
    ...controls,
    fetch: fetchLike,
    now: () => clock.now(),
    get requests() {
      return log.slice();
    },
    control: (command: unknown) => runControl(controls, command),
    [HANDLE]: handle,
  };
}
