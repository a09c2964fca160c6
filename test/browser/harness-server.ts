// Node-only: serves the page, the bundled suite, and fresh emulators (each with CORS, on its own
// 127.0.0.1 port) to a browser. Binds 127.0.0.1 only.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type RunningEmulator, startEmulator } from "@ibauth/emulator/node";

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>ibauth conformance</title>
<script type="module" src="/suite.js"></script></head><body>ibauth conformance</body></html>`;

export interface Harness {
  url: string;
  close(): Promise<void>;
}

export async function startHarness(suiteJs: string): Promise<Harness> {
  const emulators = new Map<string, RunningEmulator>();

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (req.method === "GET" && req.url === "/") return send(200, "text/html; charset=utf-8", PAGE);
    if (req.method === "GET" && req.url === "/suite.js") return send(200, "text/javascript", suiteJs);
    if (req.method === "POST" && req.url === "/__harness/emulators") {
      const setup = JSON.parse(await readBody(req));
      const emulator = await startEmulator({ ...setup, port: 0, host: "127.0.0.1", cors: true });
      emulators.set(emulator.url, emulator);
      return send(200, "application/json", JSON.stringify({ url: emulator.url }));
    }
    if (req.method === "POST" && req.url === "/__harness/emulators/close") {
      const { url } = JSON.parse(await readBody(req));
      await emulators.get(url)?.close();
      emulators.delete(url);
      return send(200, "application/json", "{}");
    }
    if (req.url === "/favicon.ico") return send(204, "text/plain", "");
    return send(404, "text/plain", "not found");
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(error instanceof Error ? error.message : String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await Promise.all([...emulators.values()].map((e) => e.close()));
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}
