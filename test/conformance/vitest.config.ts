import { defineProject } from "vitest/config";
import { linkTestFolders } from "../support/links.ts";

linkTestFolders();

export default defineProject({
  test: {
    name: "conformance-node",
    include: ["*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
