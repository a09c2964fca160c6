/**
 * Runs main.ts against a local IBKR emulator on 127.0.0.1, so the example works with no IBKR account:
 * fresh client keys, a registered demo client, and the IBKR_* variables main.ts reads.
 */
// @ts-types="../../packages/emulator/dist/index.d.ts"
import { createEmulator, generateClientKeys } from "@ibauth/emulator";

const keys = await generateClientKeys();
const emulator = createEmulator({
  clients: [{ clientId: "demo-client", keys: { main: keys.publicKeyPem }, credentials: ["demouser"] }],
});
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) =>
  emulator.fetch(request),
);
const url = `http://127.0.0.1:${server.addr.port}`;
console.log(`IBKR emulator on ${url}`);

const env = {
  IBKR_CLIENT_ID: "demo-client",
  IBKR_CLIENT_KEY_ID: "main",
  IBKR_CREDENTIAL: "demouser",
  IBKR_PRIVATE_KEY: keys.privateKeyPem,
  IBKR_BASE_URL: url,
  IBKR_IP_LOOKUP_URL: `${url}/__emulator/ip`,
  // The emulator's sessions end with this process: nothing worth keeping on disk.
  IBKR_KV_PATH: ":memory:",
};
for (const [name, value] of Object.entries(env)) Deno.env.set(name, value);
await import("./main.ts");
