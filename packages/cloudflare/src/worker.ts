import { hasApiKey, unauthorized } from "./api-key";
import type { IbauthWorkerEnv } from "./config";
import { corsPolicy } from "./cors";
import { health } from "./health";
import { proxy } from "./proxy";
import { internalError, problem } from "./respond";
import { createRuntime } from "./runtime";
import { login, logout } from "./session-routes";
import { type CreateWorkerOptions, resolveSettings } from "./settings";
import { scheduledTick } from "./tick";

/** The parts of Workers' ExecutionContext and ScheduledController used here (structural, no workers-types needed). */
export interface ExecutionContextLike {
  waitUntil(promise: Promise<unknown>): void;
}
export interface ScheduledControllerLike {
  readonly scheduledTime: number;
  readonly cron: string;
}

/** An ExportedHandler: `export default createWorker()` is a complete Worker. */
export interface IbauthWorker<Env extends IbauthWorkerEnv = IbauthWorkerEnv> {
  fetch(request: Request, env: Env, ctx: ExecutionContextLike): Promise<Response>;
  scheduled(controller: ScheduledControllerLike, env: Env, ctx: ExecutionContextLike): Promise<void>;
}

/**
 * A Worker that holds one IBKR session: the cron tick (`scheduled`) logs in, tickles and heals and is
 * the only writer of the session in KV; `fetch` serves GET /health, proxies /v1/api/* for callers with
 * the API key, and offers POST /session/login and /session/logout to operators.
 */
export function createWorker<Env extends IbauthWorkerEnv = IbauthWorkerEnv>(
  options: CreateWorkerOptions = {},
): IbauthWorker<Env> {
  const settings = resolveSettings(options);
  const contextFor = createRuntime(settings);
  const cors = corsPolicy(settings.corsOrigins);

  async function route(request: Request, env: Env): Promise<Response> {
    const context = await contextFor(env);
    const path = new URL(request.url).pathname;
    const preflight = cors.preflight(request);
    if (preflight) return preflight;
    if (path === "/health" && (request.method === "GET" || request.method === "HEAD")) {
      return health(context, settings, request.method);
    }
    const { ready } = context;
    // Without a complete configuration there is no API key to check against: refuse everything but /health.
    if (!ready) return problem(503, "the Worker is not configured; see GET /health");
    if (!(await hasApiKey(request, ready.config.apiKey))) return unauthorized();
    if (path === "/session/login" || path === "/session/logout") {
      if (request.method !== "POST") return problem(405, "use POST", {}, { allow: "POST" });
      return path === "/session/login" ? login(context, ready, settings) : logout(context, ready, settings);
    }
    return proxy(request, context, ready, settings);
  }

  return {
    async fetch(request, env) {
      try {
        return cors.decorate(request, await route(request, env));
      } catch (error) {
        return cors.decorate(request, internalError(settings.logger(env), error)); // KV unreachable, or a bug
      }
    },

    async scheduled(_controller, env) {
      try {
        await scheduledTick(await contextFor(env), settings);
      } catch (error) {
        // scheduledTick handles IBKR failures itself; this is KV or a bug. Log it and let the next tick retry.
        settings
          .logger(env)
          .error(
            { step: "tick", code: "ERR_INTERNAL" },
            `ibauth: tick crashed: ${error instanceof Error ? error.message : String(error)}`,
          );
      }
    },
  };
}
