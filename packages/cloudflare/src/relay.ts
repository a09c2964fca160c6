import { readUpTo } from "./body-prefix";

/**
 * IBKR headers a caller must not get: its cookies and credentials belong to the session the Worker holds,
 * its CORS headers would speak for the Worker (whose own CORS policy is in cors.ts), and hop-by-hop
 * headers describe the other connection.
 */
const DROPPED =
  /^(set-cookie2?|authorization|proxy-authenticate|www-authenticate|access-control-.*|connection|keep-alive|transfer-encoding)$/i;

/**
 * A redirect stays on the Worker: one to the IBKR origin under /v1/api/ becomes a relative path (the
 * caller follows it through the proxy), any other target is dropped, so IBKR can never send an
 * API-key holder elsewhere with a URL it chose.
 */
function relayLocation(location: string, origin: string): string | undefined {
  let target: URL;
  let base: URL;
  try {
    base = new URL(origin);
    target = new URL(location, `${origin}/`);
  } catch {
    return undefined;
  }
  const prefix = `${base.pathname.replace(/\/$/, "")}/v1/api/`;
  if (target.origin !== base.origin || !target.pathname.startsWith(prefix)) return undefined;
  return `${target.pathname.slice(prefix.length - "/v1/api/".length)}${target.search}`;
}

export function relayHeaders(upstream: Headers, origin: string): Headers {
  const headers = new Headers();
  for (const [name, value] of upstream) {
    if (DROPPED.test(name) || name === "location") continue;
    headers.append(name, value);
  }
  const location = upstream.get("location");
  const relayed = location === null ? undefined : relayLocation(location, origin);
  if (relayed !== undefined) headers.set("location", relayed);
  return headers;
}

/** /tickle answers carry the session id that opens IBKR's WebSocket: it stays in the Worker with the cookie. */
const TICKLE_PATH = "/v1/api/tickle";
const TICKLE_MAX_BYTES = 64 * 1024;

async function withoutSessionId(response: Response, headers: Headers): Promise<Response> {
  const read = response.body ? await readUpTo(response.body, TICKLE_MAX_BYTES) : undefined;
  let data: unknown;
  try {
    data = read?.complete ? JSON.parse(new TextDecoder().decode(read.bytes)) : undefined;
  } catch {}
  if (!read?.complete) await read?.stream.cancel();
  if (typeof data !== "object" || data === null) {
    // Not the small JSON IBKR sends: nothing of it is passed on, it may hold the id in another form.
    return new Response(null, { status: 502, headers: { "cache-control": "no-store" } });
  }
  delete (data as { session?: unknown }).session;
  headers.delete("content-length");
  headers.delete("content-encoding");
  headers.delete("etag");
  return new Response(JSON.stringify(data), {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}

/**
 * IBKR's answer as the caller gets it: filtered headers, and /tickle without its session id. `path` is the
 * caller's (`/v1/api/…`), not the upstream URL's, which carries a relay's prefix (IBKR_BASE_URL=…/ibkr).
 */
export async function relay(response: Response, path: string, origin: string): Promise<Response> {
  const headers = relayHeaders(response.headers, origin);
  if (path === TICKLE_PATH && response.ok) return withoutSessionId(response, headers);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
