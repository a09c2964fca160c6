import { createServer, type IncomingMessage, type RequestListener, type ServerResponse } from "node:http";
import { createServer as createTlsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { createEmulator, type Emulator, HANDLE } from "./emulator.js";
import type { EmulatorOptions } from "./types.js";

export * from "./index.js";

export interface StartEmulatorOptions extends Partial<EmulatorOptions> {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. The control endpoints need no auth: never bind beyond loopback. */
  host?: string;
  /** Serve an existing emulator instead of creating one from the options. */
  emulator?: Emulator;
  /** Serve HTTPS with this PEM key and certificate (e.g. from a throwaway CA), so clients reuse TLS connections as they do with api.ibkr.com. */
  tls?: { key: string; cert: string };
  /** Called once per answered request (status 0: reset or dropped); `reason` is a 429's message. */
  onRequest?: (request: ServedRequest) => void;
}

export interface ServedRequest {
  method: string;
  /** Path only, never the query. */
  path: string;
  status: number;
  reason?: string;
}

/** The emulator's own words in a 429 body ({"error"} or a problem's {"detail"}), for the request log. */
async function reasonOf(response: Response): Promise<string | undefined> {
  if (response.status !== 429) return undefined;
  try {
    const body = JSON.parse(await response.clone().text()) as { error?: unknown; detail?: unknown };
    const reason = body.error ?? body.detail;
    return typeof reason === "string" ? reason : undefined;
  } catch {
    return undefined;
  }
}

export interface RunningEmulator {
  /** e.g. http://127.0.0.1:54321 (https with `tls`; no trailing slash): use it as the SDK's baseUrl. */
  url: string;
  emulator: Emulator;
  close(): Promise<void>;
}

function toRequest(req: IncomingMessage, base: string, signal: AbortSignal): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    headers.append(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
  const method = req.method ?? "GET";
  const hasBody = method !== "GET" && method !== "HEAD";
  return new Request(new URL(req.url ?? "/", base), {
    method,
    headers,
    signal,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    duplex: "half",
  } as RequestInit);
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  res.writeHead(response.status, headers);
  if (response.body) for await (const chunk of response.body) res.write(chunk);
  res.end();
}

/** Serves the emulator over HTTP on 127.0.0.1 (Node only). */
export async function startEmulator(options: StartEmulatorOptions = {}): Promise<RunningEmulator> {
  const { port = 0, host = "127.0.0.1", emulator: given, tls, onRequest, ...rest } = options;
  const emulator = given ?? createEmulator(rest as EmulatorOptions);
  const scheme = tls ? "https" : "http";
  const listener: RequestListener = (req, res) => {
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort(new Error("client closed the connection"));
    });
    const base = `${scheme}://${req.headers.host ?? `${host}:${port}`}`;
    // the header as sent on the wire decides (Akamai answers 411 to a POST without it)
    const lengthKnown = req.headers["content-length"] !== undefined;
    const path = new URL(req.url ?? "/", base).pathname;
    const report = (status: number, reason?: string) =>
      onRequest?.({ method: req.method ?? "GET", path, status, ...(reason ? { reason } : {}) });
    // clients may sign the address they connect to while sending another Host (ibind sends api.ibkr.com)
    const local = req.socket.localAddress ?? host;
    const localOrigin = `${scheme}://${local.includes(":") ? `[${local}]` : local}:${req.socket.localPort}`;
    let request: Request;
    try {
      request = toRequest(req, base, abort.signal);
    } catch {
      // A fetch Request cannot carry TRACE (the constructor throws): a local request must never take the
      // emulator down.
      res.writeHead(405, {
        "content-type": "application/json",
        allow: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS",
      });
      res.end(`${JSON.stringify({ error: `method ${req.method} not allowed` })}\n`);
      report(405);
      return;
    }
    emulator[HANDLE](request, lengthKnown, abort.signal, localOrigin)
      .then(
        async (outcome) => {
          if ("reset" in outcome) {
            report(0);
            req.socket.destroy();
          } else {
            if (onRequest) report(outcome.response.status, await reasonOf(outcome.response));
            return send(res, outcome.response);
          }
        },
        () => {
          // the caller went away (hang fault or delay aborted), or reset() released a hang: drop the socket
          report(0);
          req.socket.destroy();
        },
      )
      .catch(() => req.socket.destroy());
  };
  const server = tls ? createTlsServer({ key: tls.key, cert: tls.cert }, listener) : createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `${scheme}://${shown}:${address.port}`,
    emulator,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
