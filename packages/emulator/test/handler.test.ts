import { createEmulator } from "@ibauth/emulator";
import { afterEach, describe, expect, it, vi } from "vitest";
import { BASE, CLIENT_ID, clientKeys, IP, UA, USERNAME } from "./helpers.js";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("emu.fetch as a runtime's fetch handler", () => {
  it("can be created where random values are forbidden (workerd's global scope)", async () => {
    const keys = await clientKeys();
    vi.spyOn(crypto, "getRandomValues").mockImplementation(() => {
      throw new Error("Disallowed operation called within global scope");
    });
    expect(() =>
      createEmulator({
        clients: [{ clientId: CLIENT_ID, keys: { main: keys.publicKeyPem }, credentials: [USERNAME] }],
      }),
    ).not.toThrow();
  });

  it("ignores a workerd env or Deno connection info passed as the second argument", async () => {
    const keys = await clientKeys();
    const emu = createEmulator({
      clients: [{ clientId: CLIENT_ID, keys: { main: keys.publicKeyPem }, credentials: [USERNAME] }],
    });
    const handler = emu.fetch as unknown as (request: Request, second: unknown) => Promise<Response>;
    const post = () =>
      new Request(`${BASE}/v1/api/tickle`, {
        method: "POST",
        body: "{}",
        headers: { "user-agent": UA, "content-length": "2" },
      });
    const env = { body: "binding-named-body", KV: {} };
    expect((await handler(post(), env)).status).toBe(401); // past the edge: the env's `body` was not used
    expect(
      (await handler(post(), { remoteAddr: { hostname: "127.0.0.1" }, completed: Promise.resolve() })).status,
    ).toBe(401);
    expect(await (await handler(new Request(`${BASE}/__emulator/ip`), {})).text()).toBe(IP);
  });
});
