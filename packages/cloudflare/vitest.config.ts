import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [cloudflareTest({ miniflare: { compatibilityDate: "2026-04-01", compatibilityFlags: ["nodejs_compat"], kvNamespaces: ["IBAUTH_SESSIONS"] } })],
        test: { name: "cloudflare", include: ["test/workerd/**/*.test.ts"], testTimeout: 30_000 },
      },
      { test: { name: "cloudflare-node", include: ["test/node/**/*.test.ts"], environment: "node", testTimeout: 120_000 } },
    ],
  },
});
