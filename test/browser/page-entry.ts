// The suite as a browser module. The page asks its own origin (the test's node:http server) for a
// fresh emulator per case; each emulator listens on its own 127.0.0.1 port with CORS on, so the
// SDK's requests are real cross-origin fetches with preflights, as a dashboard's would be.

import { type CaseResult, runAll } from "../conformance/suite";
import { remoteHandle, type Transport } from "../support/emulator-handle";

const servedTransport: Transport = {
  name: "http",
  // A page cannot set User-Agent; Chromium sends its own.
  setsUserAgent: false,
  async open(setup) {
    const res = await fetch("/__harness/emulators", { method: "POST", body: JSON.stringify(setup) });
    if (!res.ok)
      throw new Error(`harness could not start an emulator: HTTP ${res.status} ${await res.text()}`);
    const { url } = (await res.json()) as { url: string };
    return {
      emu: remoteHandle(url),
      baseUrl: url,
      fetch: (input, init) => fetch(input, init),
      close: async () => {
        await fetch("/__harness/emulators/close", { method: "POST", body: JSON.stringify({ url }) });
      },
    };
  },
};

// No in-page emulator run: the emulator's fetch handler would see the Request the page built, and
// Chromium strips User-Agent from it (the browser adds its own only on the wire), so the emulated WAF
// would refuse every call. Served over HTTP, the emulator sees what IBKR would.
declare global {
  var runConformance: () => Promise<CaseResult[]>;
}

globalThis.runConformance = () => runAll(servedTransport);
