import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/links";

// What each runtime's fetch puts on the wire for the core's bodyless POST (/tickle, /logout): a raw
// TCP server on 127.0.0.1 records the request head byte for byte. The core sends `new Uint8Array(0)`,
// which must become `Content-Length: 0` with no Content-Type; `""` would add text/plain (the contrast
// below proves the check can fail). The extra headers each runtime adds are printed for the protocol
// notes (docs/ibkr-protocol.md, "What each runtime adds").

interface Head {
  line: string;
  headers: Record<string, string>;
}

let server: Server;
let url: string;
const heads: Head[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    let data = "";
    socket.on("data", (chunk) => {
      data += chunk.toString("latin1");
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return;
      const [line = "", ...rest] = data.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const h of rest) {
        const i = h.indexOf(":");
        headers[h.slice(0, i).toLowerCase()] = h.slice(i + 1).trim();
      }
      heads.push({ line, headers });
      socket.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no port");
  url = `http://127.0.0.1:${address.port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** The same request as viaNode's, as source for Deno and workerd. */
const script = (target: string, body: "bytes" | "string") => `
  const res = await fetch(${JSON.stringify(target)}, {
    method: "POST",
    headers: { "User-Agent": "ibauth-bytes/1", Accept: "*/*" },
    body: ${body === "bytes" ? "new Uint8Array(0)" : '""'},
    redirect: "manual",
  });
  await res.text();`;

async function viaNode(path: string, body: "bytes" | "string"): Promise<Head> {
  const res = await fetch(url + path, {
    method: "POST",
    headers: { "User-Agent": "ibauth-bytes/1", Accept: "*/*" },
    body: body === "bytes" ? new Uint8Array(0) : "",
    redirect: "manual",
  });
  await res.text();
  return lastFor(path);
}

async function viaDeno(path: string, body: "bytes" | "string"): Promise<Head> {
  const child = spawn(
    join(ROOT, "node_modules/.bin/deno"),
    ["eval", "--quiet", `${script(url + path, body)}`],
    { env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" }, stdio: "inherit" },
  );
  const [code] = await once(child, "exit");
  expect(code).toBe(0);
  return lastFor(path);
}

async function viaWorkerd(path: string, body: "bytes" | "string"): Promise<Head> {
  const mf = new Miniflare({
    modules: true,
    script: `export default { async fetch() { ${script(url + path, body)} return new Response("done"); } };`,
    compatibilityDate: "2026-04-01",
    host: "127.0.0.1",
  });
  try {
    const res = await mf.dispatchFetch("http://127.0.0.1/");
    expect(await res.text()).toBe("done");
  } finally {
    await mf.dispose();
  }
  return lastFor(path);
}

function lastFor(path: string): Head {
  const head = heads.filter((h) => h.line.startsWith(`POST ${path} `)).pop();
  if (!head) throw new Error(`no request for ${path}`);
  return head;
}

const RUNTIMES = { node: viaNode, deno: viaDeno, workerd: viaWorkerd };

describe("bodyless POST bytes, per runtime", () => {
  for (const [name, send] of Object.entries(RUNTIMES)) {
    it(`${name}: new Uint8Array(0) goes out with Content-Length: 0 and no Content-Type; "" adds text/plain`, async () => {
      const bytes = await send(`/${name}/bytes`, "bytes");
      expect(bytes.headers["content-length"]).toBe("0");
      expect(bytes.headers["content-type"]).toBeUndefined();
      expect(bytes.headers["transfer-encoding"]).toBeUndefined();
      const text = await send(`/${name}/string`, "string");
      expect(text.headers["content-type"]).toMatch(/^text\/plain/i);
      const own = new Set(["host", "user-agent", "accept", "content-length"]);
      const added = Object.entries(bytes.headers).filter(([k]) => !own.has(k));
      console.log(`${name} adds: ${added.map(([k, v]) => `${k}: ${v}`).join(" | ") || "nothing"}`);
    });
  }
});
