import { defineProject } from "vitest/config";
import { workspaceAliases } from "../faults/workspace-packages.mjs";

export default defineProject({
  resolve: { alias: workspaceAliases(["@ibauth/core", "@ibauth/emulator"]) },
  test: {
    name: "soak",
    include: ["*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
