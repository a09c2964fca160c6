import { defineProject } from "vitest/config";
import { linkTestFolders } from "../support/links";

linkTestFolders();

export default defineProject({
  test: {
    name: "conformance-chromium",
    include: ["*.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 240_000,
  },
});
