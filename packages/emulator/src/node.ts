import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
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
}

export interface RunningEmulator {
  /** e.g. http://127.0.0.1:54321 (no trailing slash): use it as the SDK's baseUrl. */
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
  const { port = 0, host = "127.0.0.1", emulator: given, ...rest } = options;
  const emulator = given ?? createEmulator(rest as EmulatorOptions);
  const server = createServer((req, res) => {
    const abort = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) abort.abort(new Error("client closed the connection"));
    });
    const base = `http://${req.headers.host ?? `${host}:${port}`}`;
    // the header as sent on the wire decides (Akamai answers 411 to a POST without it)
    const lengthKnown = req.headers["content-length"] !== undefined;
    // clients may sign the address they connect to while sending another Host (ibind sends api.ibkr.com)
    const local = req.socket.localAddress ?? host;
    const localOrigin = `http://${local.includes(":") ? `[${local}]` : local}:${req.socket.localPort}`;
    emulator[HANDLE](toRequest(req, base, abort.signal), lengthKnown, abort.signal, localOrigin)
      .then(
        (outcome) => {
          if ("reset" in outcome) req.socket.destroy();
          else return send(res, outcome.response);
        },
        () => {
          // the caller went away (hang fault or delay aborted), or reset() released a hang: drop the socket
          req.socket.destroy();
        },
      )
      .catch(() => req.socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    emulator,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
