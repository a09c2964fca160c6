import { request } from "node:http";
import { startEmulator } from "@ibauth/emulator/node";
import { afterEach, describe, expect, it } from "vitest";
import { CLIENT_ID, clientKeys, USERNAME } from "./helpers.js";

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A raw request with any method, as curl -X would send it. */
function raw(url: string, method: string): Promise<{ status: number; allow?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/api/tickle`, { method }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow }));
    });
    req.on("error", reject);
    req.end();
  });
}

// Node itself answers 400 to methods it does not know (TRACK) and drops CONNECT without a listener.
describe("methods a fetch Request cannot carry", () => {
  for (const method of ["TRACE"]) {
    it(`${method} gets 405 and the emulator keeps serving`, async () => {
      const srv = await startEmulator({
        clients: [
          { clientId: CLIENT_ID, keys: { main: (await clientKeys()).publicKeyPem }, credentials: [USERNAME] },
        ],
      });
      close = srv.close;
      const answer = await raw(srv.url, method);
      expect(answer.status).toBe(405);
      expect(answer.allow).toContain("GET");
      expect((await fetch(`${srv.url}/__emulator/ip`)).status).toBe(200);
    });
  }
});
