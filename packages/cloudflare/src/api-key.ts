import { timingSafeEqualText } from "./crypto";

/** The key in `Authorization: Bearer <key>`, or undefined for a missing or malformed header. */
export function presentedKey(request: Request): string | undefined {
  const header = request.headers.get("authorization") ?? "";
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1];
}

/** True when the caller presents `Authorization: Bearer <IBAUTH_API_KEY>`; compared in constant time. */
export async function hasApiKey(request: Request, apiKey: string): Promise<boolean> {
  const presented = presentedKey(request);
  // Compare even when the header is malformed, so timing does not tell "malformed" from "wrong".
  const equal = await timingSafeEqualText(presented ?? "", apiKey);
  return presented !== undefined && equal;
}

export function unauthorized(): Response {
  return new Response(
    `${JSON.stringify({ error: "missing or wrong API key: send Authorization: Bearer <IBAUTH_API_KEY>" })}\n`,
    {
      status: 401,
      headers: {
        "content-type": "application/json; charset=utf-8",
        "cache-control": "no-store",
        "www-authenticate": 'Bearer realm="ibauth"',
      },
    },
  );
}
