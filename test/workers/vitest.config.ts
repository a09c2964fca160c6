import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineProject } from "vitest/config";
import { linkTestFolders } from "../support/links.ts";

linkTestFolders();

// The suite inside workerd with nodejs_compat (the pool needs it). The run WITHOUT nodejs_compat is
// test/conformance/workerd-bare.test.ts: a bundled Worker in a bare Miniflare.
export default defineProject({
  plugins: [
    cloudflareTest({
      miniflare: { compatibilityDate: "2026-04-01", compatibilityFlags: ["nodejs_compat"] },
    }),
  ],
  test: { name: "conformance-workerd", include: ["*.test.ts"], testTimeout: 60_000, hookTimeout: 120_000 },
});
