// Records what the SDK puts on the wire and what comes back, by wrapping the real transport (the
// emulator's fetch handler or the runtime's fetch). Nothing is stubbed: every call goes through.
// The recording gives the suite the real tokens and assertions to use as leak canaries.

export interface WireEntry {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string;
  /** A stream body gets no Content-Length from fetch (Akamai then answers 411); strings and bytes do. */
  streamBody: boolean;
  /** Logical clock: when the call started and ended, to tell parallel calls from sequential ones. */
  start: number;
  end?: number;
  status?: number;
  responseHeaders?: Record<string, string>;
  responseBody?: string;
  error?: string;
}

export interface Wire {
  fetch: typeof fetch;
  entries: WireEntry[];
  /** Longest chain of calls where each starts after the previous one ended. */
  roundTrips(entries?: WireEntry[]): number;
  /** Entries whose path ends with `suffix`. */
  calls(suffix: string): WireEntry[];
}

export function recordWire(base: typeof fetch): Wire {
  let tick = 0;
  const entries: WireEntry[] = [];

  const recorded = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    // A copy to read from; the transport gets the caller's own arguments, untouched. A stream body
    // can be read only once, so it is left to the transport and not recorded.
    const streamInit = init?.body instanceof ReadableStream;
    const copy =
      input instanceof Request
        ? new Request(input.clone(), init)
        : new Request(input, streamInit ? { ...init, body: undefined } : init);
    const streamBody =
      streamInit || (input instanceof Request && input.body !== null && !input.headers.has("content-length"));
    const entry: WireEntry = {
      method: copy.method,
      url: new URL(copy.url),
      headers: Object.fromEntries(copy.headers),
      body: "",
      streamBody,
      start: ++tick,
    };
    entries.push(entry);
    if (copy.body) entry.body = await readText(copy);
    try {
      const response = await base(input, init);
      entry.end = ++tick;
      entry.status = response.status;
      entry.responseHeaders = Object.fromEntries(response.headers);
      entry.responseBody = await readText(response.clone());
      return response;
    } catch (error) {
      entry.end = ++tick;
      entry.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw error;
    }
  };

  return {
    fetch: recorded as typeof fetch,
    entries,
    roundTrips(list = entries) {
      const sorted = [...list].sort((a, b) => a.start - b.start);
      const depth: number[] = [];
      sorted.forEach((entry, i) => {
        let before = 0;
        for (let j = 0; j < i; j++) {
          const prior = sorted[j];
          if (prior?.end !== undefined && prior.end < entry.start) before = Math.max(before, depth[j] ?? 0);
        }
        depth.push(before + 1);
      });
      return Math.max(0, ...depth);
    },
    calls(suffix) {
      return entries.filter((e) => e.url.pathname.endsWith(suffix));
    },
  };
}

// Bytes, then UTF-8: workerd warns when .text() meets a non-text Content-Type such as application/jwt.
async function readText(message: Request | Response): Promise<string> {
  return new TextDecoder().decode(await message.arrayBuffer());
}

/** Decodes a compact JWS without verifying it (the emulator verifies; here we only read claims). */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [header, payload] = token.split(".");
  if (header === undefined || payload === undefined) throw new Error("not a compact JWS");
  return { header: JSON.parse(fromBase64Url(header)), payload: JSON.parse(fromBase64Url(payload)) };
}

function fromBase64Url(part: string): string {
  const b64 = part
    .replace(/-/g, "+")
    .replace(/_/g, "/")
    .padEnd(Math.ceil(part.length / 4) * 4, "=");
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new TextDecoder().decode(bytes);
}

/** Every secret the wire carried: assertions, tokens, bearer headers, session ids, cookies. */
export function wireSecrets(wire: Wire): string[] {
  const found = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === "string" && value.length >= 8) found.add(value);
  };
  for (const entry of wire.entries) {
    const auth = entry.headers.authorization;
    if (auth) add(auth.replace(/^Bearer\s+/i, ""));
    add(entry.headers.cookie);
    add(entry.responseHeaders?.["set-cookie"]);
    if (entry.url.pathname.endsWith("/sso-sessions")) add(entry.body);
    if (entry.body.includes("client_assertion="))
      add(new URLSearchParams(entry.body).get("client_assertion"));
    const json = parseJson(entry.responseBody);
    if (json && typeof json === "object") {
      const record = json as Record<string, unknown>;
      add(record.access_token);
      add(record.refresh_token);
      add(record.id_token);
      add(record.session);
    }
  }
  return [...found];
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
