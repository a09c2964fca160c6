// Node-only: the emulator behind a real HTTP server on 127.0.0.1, reached with the runtime's fetch.
import { startEmulator } from "@ibauth/emulator/node";
import { localHandle, type Transport } from "./emulator-handle";

export const nodeHttpTransport: Transport = {
  name: "http",
  setsUserAgent: true,
  async open(setup) {
    const server = await startEmulator({ port: 0, host: "127.0.0.1", ...setup });
    return {
      emu: localHandle(server.emulator),
      baseUrl: server.url.replace(/\/$/, ""),
      fetch: globalThis.fetch,
      close: () => server.close(),
    };
  },
};
