/** Caller headers that may reach IBKR. Everything else (Authorization, Cookie, cf-*, x-forwarded-*, Host…) stays behind. */
const FORWARDED_REQUEST_HEADERS = [
  "accept",
  "accept-language",
  "content-type",
  "if-none-match",
  "if-modified-since",
  "user-agent",
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
