import type { ArmedFault } from "./faults.js";
import { errorFor, htmlPage } from "./responses.js";

/** Waits ms, or rejects with the signal's reason when it aborts first (a caller gave up). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Never settles until the signal aborts, then rejects with its reason: a server that stopped answering. */
export function waitForAbort(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}

/** The response an armed fault of kind status, html or invalid-json produces. */
export function answerFault(f: ArmedFault, path: string): Response {
  let response: Response;
  if (f.kind === "html") response = htmlPage(f.status ?? 503);
  else if (f.kind === "invalid-json")
    response = new Response('{"session":"', {
      status: f.status ?? 200,
      headers: { "content-type": "application/json" },
    });
  else if (f.body === undefined) response = errorFor(path, f.status ?? 500, "injected fault");
  else {
    const text = typeof f.body === "string" ? f.body : JSON.stringify(f.body);
    const type = typeof f.body === "string" ? "text/plain" : "application/json";
    response = new Response(text, { status: f.status ?? 500, headers: { "content-type": type } });
  }
  for (const [k, v] of Object.entries(f.headers ?? {})) response.headers.set(k, v);
  return response;
}

/** A request body as text. Read as bytes: workerd warns on `.text()` for types such as application/jwt. */
export async function bodyText(request: Request): Promise<string> {
  return new TextDecoder().decode(await request.arrayBuffer());
}
