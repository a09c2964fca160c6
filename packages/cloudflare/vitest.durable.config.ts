import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";
import { CLIENT_ID, OPERATOR_KEY, oauth1Bindings, userBindings } from "./test/durable/users";
import "./test/durable/provided";

// The Durable Object mode's tests run inside workerd with real, SQLite-backed Durable Objects. The
// objects read their settings from the runtime's bindings, so every test user is a binding here,
// pointing at the emulator the global setup serves over HTTP.
export default defineProject({
  plugins: [
    cloudflareTest(({ inject }) => {
      const run = inject("durable");
      return {
        main: "./test/durable/worker.ts",
        miniflare: {
          compatibilityDate: "2026-04-01",
          compatibilityFlags: ["nodejs_compat"],
          durableObjects: { IBAUTH_SESSION: { className: "IbauthSession", useSQLite: true } },
          bindings: {
            IBKR_CLIENT_ID: CLIENT_ID,
            IBKR_CLIENT_KEY_ID: "main",
            IBKR_PRIVATE_KEY: run.privateKeyPem,
            IBAUTH_SESSION_KEY: run.sessionKey,
            IBAUTH_OPERATOR_KEY: OPERATOR_KEY,
            TEST_EMULATOR_URL: run.emulatorUrl,
            TEST_LAB_URL: run.labUrl,
            ...userBindings(run.emulatorUrl),
            ...oauth1Bindings(run.oauth1, run.emulatorUrl),
          },
        },
      };
    }),
  ],
  test: {
    name: "cloudflare-durable",
    include: ["test/durable/**/*.test.ts"],
    globalSetup: ["test/durable/node/global-setup.ts"],
    // one emulator and one clock for every test: files run one after another
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
