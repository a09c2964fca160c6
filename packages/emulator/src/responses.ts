/** Response builders in IBKR's two error families (protocol §0.7, §5.1), plus the WAF's HTML pages. */

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  411: "Length Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

export function title(status: number): string {
  return TITLES[status] ?? "Error";
}

/** RFC 9457 problem details, as /oauth2 and /gw answer. `field` makes it an "/invalid-argument" problem. */
export function problem(status: number, detail: string, field?: string): Response {
  const body: Record<string, unknown> = {
    type: field ? "/invalid-argument" : "/simple",
    title: title(status),
    status,
    detail,
  };
  if (field) body.invalidArguments = [{ field, description: detail }];
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/problem+json" },
  });
}

/** The /v1/api error shape `{error, statusCode}`. */
export function apiError(status: number, error: string, headers: Record<string, string> = {}): Response {
  return json({ error, statusCode: status }, status, headers);
}

/** An edge/WAF HTML error page, like Akamai's "Access Denied" or a 502/503 from the CDN. */
export function htmlPage(status: number, heading = title(status)): Response {
  const html = `<HTML><HEAD><TITLE>${heading}</TITLE></HEAD><BODY><H1>${heading}</H1>\nReference #18.emulator.${status}\n</BODY></HTML>\n`;
  return new Response(html, { status, headers: { "content-type": "text/html" } });
}

/** Which error family a path belongs to. */
export function errorFor(
  path: string,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  if (path.startsWith("/v1/api") || path.startsWith("/alpha/api")) return apiError(status, message, headers);
  const r = problem(status, message);
  for (const [k, v] of Object.entries(headers)) r.headers.set(k, v);
  return r;
}
