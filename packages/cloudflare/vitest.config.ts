import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";

// The Worker's tests run inside workerd (the pool needs nodejs_compat; the package itself does not, which
// test/bare.test.ts proves with a bundled Worker in a bare Miniflare started by the global setup).
export default defineProject({
  plugins: [
    cloudflareTest({
      // SELF is the example Worker itself (`export default createWorker()`), with no IBKR settings bound.
      main: "../../examples/cloudflare-worker/src/index.ts",
      miniflare: {
        compatibilityDate: "2026-04-01",
        compatibilityFlags: ["nodejs_compat"],
        kvNamespaces: ["IBAUTH_SESSIONS"],
      },
    }),
  ],
  test: {
    name: "cloudflare",
    include: ["test/**/*.test.ts"],
    exclude: ["test/durable/**"], // the Durable Object mode's project: vitest.durable.config.ts
    globalSetup: ["test/node/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
