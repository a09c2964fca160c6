import { defineProject } from "vitest/config";
import { workspaceAliases } from "./workspace-packages.mjs";

export default defineProject({
  resolve: { alias: workspaceAliases(["@ibauth/core", "@ibauth/emulator"]) },
  test: {
    name: "faults",
    include: ["*.test.ts"],
    environment: "node",
    testTimeout: 600_000,
    hookTimeout: 60_000,
  },
});
