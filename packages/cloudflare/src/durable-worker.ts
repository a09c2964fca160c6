import { unauthorized } from "./api-key";
import {
  type DurableWorkerOptions,
  POKE_PATH,
  resolveDurableSettings,
  USER_HEADER,
} from "./durable-settings";
import { type DurableNamespaceLike, isDurableNamespace } from "./durable-types";
import { forwardedHeaders } from "./proxy-headers";
import { internalError, json, problem } from "./respond";
import { PROXY_PREFIX, proxyTarget, rawPathAndQuery } from "./target";
import {
  type Caller,
  type IbauthDurableEnv,
  isMultiUser,
  SINGLE_USER,
  type UserDirectory,
  userDirectory,
} from "./users";
import type { IbauthWorker } from "./worker";

const OBJECT_ORIGIN = "https://ibauth-session.internal";
/** Checks the caller's path before it is parsed into the request to the object (which would normalise it). */
const PATH_CHECK_ORIGIN = "https://path-check.invalid";
const OPERATOR_ROUTE = /^\/users\/([a-z0-9-]{1,32})(\/health|\/session\/login|\/session\/logout)$/;

function objectRequest(label: string, path: string, request: Request, withBody: boolean): Request {
  const headers = forwardedHeaders(request);
  const length = request.headers.get("content-length");
  if (length !== null) headers.set("content-length", length);
  headers.set(USER_HEADER, label);
  const body = withBody && request.method !== "GET" && request.method !== "HEAD" ? request.body : null;
  return new Request(OBJECT_ORIGIN + path, { method: request.method, headers, body });
}

/**
 * The Durable Object mode's Worker: maps each caller's API key to a user and hands the request to that
 * user's object (`idFromName(label)`), which holds the session. The cron trigger, if any, is a watchdog:
 * it only makes sure every object's alarm is armed.
 */
export function createDurableWorker<Env extends IbauthDurableEnv = IbauthDurableEnv>(
  options: DurableWorkerOptions = {},
): IbauthWorker<Env> {
  const settings = resolveDurableSettings(options);
  const directories = new WeakMap<object, UserDirectory>();
  const directoryOf = (env: Env) => {
    let directory = directories.get(env);
    if (!directory) {
      directory = userDirectory(env);
      directories.set(env, directory);
    }
    return directory;
  };
  const stub = (namespace: DurableNamespaceLike, label: string) =>
    namespace.get(namespace.idFromName(label) as never);

  async function index(namespace: DurableNamespaceLike, directory: UserDirectory, request: Request) {
    const users = await Promise.all(
      directory.labels.map(async (label) => {
        const problems = directory.userProblems.get(label);
        if (problems) {
          const reasons = problems.map((p) => `${p.setting}: ${p.problem}`);
          return [
            label,
            { ok: false, user: label, state: "misconfigured", reasons, config: { ok: false, problems } },
          ] as const;
        }
        const res = await stub(namespace, label).fetch(objectRequest(label, "/health", request, false));
        return [label, (await res.json()) as { ok: boolean }] as const;
      }),
    );
    return Object.fromEntries(users) as Record<string, { ok: boolean }>;
  }

  async function route(request: Request, env: Env): Promise<Response> {
    const directory = directoryOf(env);
    const namespace = env.IBAUTH_SESSION;
    const path = new URL(request.url).pathname;
    const isHealth = path === "/health" && (request.method === "GET" || request.method === "HEAD");
    const problems = [...directory.problems];
    if (!isDurableNamespace(namespace))
      problems.push({
        setting: "IBAUTH_SESSION",
        problem: "Durable Object binding missing (see wrangler.toml)",
      });
    if (problems.length || !isDurableNamespace(namespace)) {
      if (!isHealth) return problem(503, "the Worker is not configured; see GET /health");
      return json(
        {
          ok: false,
          state: "misconfigured",
          reasons: problems.map((p) => `${p.setting}: ${p.problem}`),
          config: { ok: false, problems },
        },
        503,
      );
    }
    const caller: Caller | undefined = await directory.identify(request);
    const forward = (label: string, objectPath: string) =>
      stub(namespace, label).fetch(objectRequest(label, objectPath, request, true));

    if (isHealth) {
      if (caller?.kind === "user") return forward(caller.label, "/health");
      if (!isMultiUser(env)) return forward(SINGLE_USER, "/health");
      const users = await index(namespace, directory, request);
      const ok = Object.values(users).every((user) => user.ok);
      // Without the operator key: how many users are healthy, not who they are.
      const body =
        caller?.kind === "operator"
          ? { ok, users }
          : {
              ok,
              users: directory.labels.length,
              unhealthy: Object.values(users).filter((u) => !u.ok).length,
            };
      return json(body, ok ? 200 : 503);
    }
    if (!caller) return unauthorized();
    if (caller.kind === "operator") {
      const match = OPERATOR_ROUTE.exec(path);
      const label = match?.[1];
      if (!match || label === undefined || !directory.labels.includes(label))
        return problem(
          404,
          "operator routes: GET /health, GET /users/<label>/health, POST /users/<label>/session/login|logout",
        );
      if ((match[2] === "/health") !== (request.method === "GET"))
        return problem(405, "GET /health, POST /session/*");
      return forward(label, match[2] as string);
    }
    if (path === "/session/login" || path === "/session/logout") {
      if (request.method !== "POST") return problem(405, "use POST", {}, { allow: "POST" });
      return forward(caller.label, path);
    }
    const raw = rawPathAndQuery(request.url);
    const checked = proxyTarget(PATH_CHECK_ORIGIN, raw);
    if (!checked.ok) return problem(400, `refused: ${checked.reason}`);
    if (!raw.startsWith(PROXY_PREFIX)) return problem(400, `only ${PROXY_PREFIX}* is forwarded`);
    return forward(caller.label, raw);
  }

  return {
    async fetch(request, env) {
      try {
        return await route(request, env);
      } catch (error) {
        return internalError(settings.logger(env), error); // an object unreachable, or a bug
      }
    },

    // Optional watchdog (a cron trigger, e.g. every 5 minutes): arms every user's alarm; the objects do the rest.
    async scheduled(_controller, env) {
      const directory = directoryOf(env);
      const namespace = env.IBAUTH_SESSION;
      if (!isDurableNamespace(namespace) || directory.problems.length) {
        settings
          .logger(env)
          .error({ problems: directory.problems }, "ibauth: Worker not configured; see GET /health");
        return;
      }
      const poke = new Request(OBJECT_ORIGIN + POKE_PATH, { method: "POST" });
      const results = await Promise.allSettled(
        directory.labels.map((label) => {
          const request = new Request(poke, { headers: { [USER_HEADER]: label } });
          return stub(namespace, label).fetch(request);
        }),
      );
      results.forEach((result, i) => {
        if (result.status === "rejected")
          settings
            .logger(env)
            .error(
              { user: directory.labels[i], step: "watchdog" },
              "ibauth: could not reach the user's object",
            );
      });
    },
  };
}
