// The suite under `deno test`, unchanged: the import map in deno.json points @ibauth/* at the built
// dists, whose own dependencies (jose, valibot) resolve from the workspace's node_modules. Twice:
// with the emulator's fetch handler in-process, and with it behind Deno.serve on 127.0.0.1.
import { createEmulator } from "@ibauth/emulator";
import { localHandle, type Transport } from "../../support/emulator-handle.ts";
import { cases, inProcessTransport, runCase } from "../suite.ts";

const denoServeTransport: Transport = {
  name: "http",
  setsUserAgent: true,
  open(setup) {
    const emulator = createEmulator(setup);
    return new Promise((resolve) => {
      const server = Deno.serve(
        {
          hostname: "127.0.0.1",
          port: 0,
          onListen: ({ port }) =>
            resolve({
              emu: localHandle(emulator),
              baseUrl: `http://127.0.0.1:${port}`,
              fetch: globalThis.fetch,
              close: () => server.shutdown(),
            }),
        },
        (request) => emulator.fetch(request),
      );
    });
  },
};

for (const transport of [inProcessTransport, denoServeTransport]) {
  for (const c of cases) Deno.test(`${transport.name}: ${c.name}`, () => runCase(c, transport));
}
