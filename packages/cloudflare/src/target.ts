import { problem } from "./respond";

export const PROXY_PREFIX = "/v1/api/";

/** The methods the Web API uses; anything else (TRACE, CONNECT, PROPFIND…) gets 405 and never reaches IBKR. */
export const PROXY_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
]);

/**
 * `url` is what is sent; `path` is the caller's path under the origin (`/v1/api/…`, without a relay's
 * prefix or the query): what IBKR's rules (pacing table, /tickle, /iserver) are keyed by.
 */
export type TargetResult = { ok: true; url: string; path: string } | { ok: false; reason: string };

const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
/** Encodings of ".", "/", "\", "%" and control bytes: a server that decodes them could leave /v1/api/. */
const DANGEROUS_ESCAPE = /%(2e|2f|5c|25|[01][0-9a-f]|7f)/i;
const BAD_QUERY_CHARS = /[\s#\\]/;

/** Path and query exactly as they appear in a URL string, without letting a URL parser normalise them. */
export function rawPathAndQuery(url: string): string {
  const afterScheme = url.indexOf("://");
  if (afterScheme < 0) return url;
  const pathStart = url.indexOf("/", afterScheme + 3);
  const queryStart = url.indexOf("?", afterScheme + 3);
  if (pathStart < 0 || (queryStart >= 0 && queryStart < pathStart))
    return queryStart >= 0 ? `/${url.slice(queryStart)}` : "/";
  return url.slice(pathStart);
}

/**
 * Builds the upstream URL from the configured origin and the caller's path only. Anything that could
 * change the host or climb out of /v1/api/ is refused: dot segments (plain or encoded), encoded
 * slashes and backslashes, backslashes, empty segments ("//"), absolute URLs, fragments and control
 * characters. The result is checked once more after parsing.
 * `origin` is where IBKR is reached: `https://api.ibkr.com`, or a relay's URL with its path prefix.
 */
export function proxyTarget(origin: string, pathAndQuery: string): TargetResult {
  const queryAt = pathAndQuery.indexOf("?");
  const path = queryAt < 0 ? pathAndQuery : pathAndQuery.slice(0, queryAt);
  const query = queryAt < 0 ? "" : pathAndQuery.slice(queryAt);
  if (!path.startsWith(PROXY_PREFIX) || path.length === PROXY_PREFIX.length) {
    return { ok: false, reason: `only ${PROXY_PREFIX}* is forwarded` };
  }
  if (path.includes("\\")) return { ok: false, reason: "backslash in path" };
  if (!PATH_CHARS.test(path)) return { ok: false, reason: "unexpected character in path" };
  if (/%(?![0-9a-f]{2})/i.test(path)) return { ok: false, reason: "malformed percent-encoding in path" };
  // Path parameters (`..;/`, `;jsessionid=`): servers behind IBKR's CDN may read `;` as a segment end.
  if (/;|%3b/i.test(path)) return { ok: false, reason: "path parameter (;) in path" };
  if (DANGEROUS_ESCAPE.test(path))
    return { ok: false, reason: "encoded dot, slash, backslash or percent in path" };
  const segments = path.slice(1).split("/");
  if (segments.some((s, i) => s === "" && i !== segments.length - 1))
    return { ok: false, reason: "empty path segment" };
  if (segments.some((s) => s === "." || s === "..")) return { ok: false, reason: "dot segment in path" };
  if (BAD_QUERY_CHARS.test(query)) return { ok: false, reason: "unexpected character in query" };

  const url = `${origin}${path}${query}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: "unparseable target" };
  }
  // `origin` may carry a relay's path prefix (IBKR_BASE_URL=https://relay.example/ibkr).
  const base = new URL(origin);
  if (parsed.origin !== base.origin || parsed.pathname !== base.pathname.replace(/\/$/, "") + path) {
    return { ok: false, reason: "target left the configured origin" };
  }
  return { ok: true, url, path };
}

/** 405 for a method the proxy never forwards with the held session (TRACE, PROPFIND…); both proxy modes. */
export function methodNotProxied(method: string): Response | undefined {
  if (PROXY_METHODS.has(method)) return undefined;
  return problem(405, `method ${method} is not proxied`, {}, { allow: [...PROXY_METHODS].join(", ") });
}
