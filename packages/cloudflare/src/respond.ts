import type { Logger } from "@ibauth/core";

/** JSON answers of the Worker itself (never of IBKR), uncacheable. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(`${JSON.stringify(body, null, 2)}\n`, {
    status,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

export function problem(
  status: number,
  error: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return json({ error, ...extra }, status, headers);
}

/** A route that crashed (storage unreachable, or a bug): logged, and a 500 without details, as it may go to anyone. */
export function internalError(logger: Logger, error: unknown): Response {
  logger.error(
    { step: "worker", code: "ERR_INTERNAL" },
    `ibauth: request failed: ${error instanceof Error ? error.message : String(error)}`,
  );
  return problem(500, "internal error; see the Worker's logs");
}
