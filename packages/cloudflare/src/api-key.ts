import { timingSafeEqualText } from "./crypto";

/** True when the caller presents `Authorization: Bearer <IBAUTH_API_KEY>`; compared in constant time. */
export async function hasApiKey(request: Request, apiKey: string): Promise<boolean> {
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  // Compare even when the header is malformed, so timing does not tell "malformed" from "wrong".
  const equal = await timingSafeEqualText(match?.[1] ?? "", apiKey);
  return match !== null && equal;
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
