import { PROXY_METHODS } from "./target";

/** What a page may send: the API key and the request headers the proxy forwards (proxy.ts). */
const ALLOWED_HEADERS =
  "authorization, accept, accept-language, content-type, if-none-match, if-modified-since";

export interface CorsPolicy {
  /** The answer to an allowed origin's preflight; undefined for anything else (which then meets the API key check). */
  preflight(request: Request): Response | undefined;
  /** Adds the CORS headers for an allowed origin to any answer of the Worker. */
  decorate(request: Request, response: Response): Response;
}

/**
 * CORS for pages on the listed origins (exact `scheme://host[:port]`), default none: without an entry a
 * browser page cannot read any answer, and IBKR's own CORS headers never pass (relay.ts). Preflights
 * carry no Authorization, so an allowed one is answered here, before the API key check.
 */
export function corsPolicy(origins: readonly string[]): CorsPolicy {
  const allowed = new Set(origins.map((o) => o.trim().toLowerCase()).filter(Boolean));
  const originOf = (request: Request) => {
    const origin = request.headers.get("origin");
    return origin !== null && allowed.has(origin.toLowerCase()) ? origin : undefined;
  };
  return {
    preflight(request) {
      if (request.method !== "OPTIONS" || !request.headers.has("access-control-request-method"))
        return undefined;
      const origin = originOf(request);
      if (origin === undefined) return undefined;
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": [...PROXY_METHODS].join(", "),
          "access-control-allow-headers": ALLOWED_HEADERS,
          "access-control-max-age": "600",
          vary: "Origin",
          "cache-control": "no-store",
        },
      });
    },
    decorate(request, response) {
      if (allowed.size === 0) return response;
      const origin = originOf(request);
      const out = new Response(response.body, response);
      out.headers.append("vary", "Origin");
      if (origin !== undefined) out.headers.set("access-control-allow-origin", origin);
      return out;
    },
  };
}
