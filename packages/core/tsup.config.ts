import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts"],
  format: ["esm"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "es2022",
  platform: "neutral",
  // ofetch's web build (not its Node entry, which loads node-fetch-native) goes into the bundle, so
  // the core imports nothing runtime-specific in any runtime.
  noExternal: ["ofetch", "destr", "ufo"],
});
