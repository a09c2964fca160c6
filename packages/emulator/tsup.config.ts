import { defineConfig } from "tsup";

// index.ts is runtime-neutral; node.ts adds the node:http server. One build, so both share one chunk
// (one createEmulator) and node:* stays external.
export default defineConfig({
  entry: ["src/index.ts", "src/node.ts"],
  format: ["esm"],
  dts: true,
  tsconfig: "tsconfig.node.json",
  clean: true,
  sourcemap: true,
  target: "es2022",
  platform: "neutral",
  external: [/^node:/],
});
