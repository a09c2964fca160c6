/** Caller headers that may reach IBKR. Everything else (Authorization, Cookie, cf-*, x-forwarded-*, Host…) stays behind. */
const FORWARDED_REQUEST_HEADERS = [
  "accept",
  "accept-language",
  "content-type",
  "if-none-match",
  "if-modified-since",
  "user-agent",
];
/** IBKR headers the caller must not get: its cookies belong to the session the Worker holds. */
const DROPPED_RESPONSE_HEADERS = [
  "set-cookie",
  "set-cookie2",
  "connection",
  "keep-alive",
  "transfer-encoding",
];
const DEFAULT_USER_AGENT = "ibauth-cloudflare/0.1";

/** The caller's headers that IBKR may see (both proxy modes); the bearer is added by the sender. */
export function forwardedHeaders(request: Request): Headers {
  const headers = new Headers();
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  if (!headers.get("user-agent")) headers.set("user-agent", DEFAULT_USER_AGENT);
  return headers;
}

/** IBKR's answer as the caller gets it: status and body as they are, IBKR's cookies and hop headers dropped. */
export function relay(response: Response): Response {
  const headers = new Headers(response.headers);
  for (const name of DROPPED_RESPONSE_HEADERS) headers.delete(name);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
