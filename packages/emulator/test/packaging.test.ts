import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as main from "@ibauth/emulator";
import { describe, expect, it } from "vitest";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");

/** The files an entry loads, following its relative imports. */
function closure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const text = readFileSync(join(dist, file), "utf8");
  for (const m of text.matchAll(/from\s+"\.\/([^"]+)"/g)) closure(m[1] as string, seen);
  return seen;
}

describe("package entries", () => {
  it("the runtime-neutral entry loads no node:* module, process or Buffer", () => {
    const files = closure("index.js");
    const code = [...files].map((f) => readFileSync(join(dist, f), "utf8")).join("\n");
    expect(code).not.toMatch(/from\s+"node:|require\(|\bprocess\.|\bBuffer\b/);
    expect(files.has("node.js")).toBe(false);
  });

  it("under Node, the package root resolves to the node entry with startEmulator", () => {
    // TypeScript's "bundler" resolution picks the default types; at run time Node picks the node entry
    expect(typeof (main as Record<string, unknown>).startEmulator).toBe("function");
    expect(typeof main.createEmulator).toBe("function");
    const pkg = JSON.parse(readFileSync(join(dist, "..", "package.json"), "utf8"));
    expect(pkg.exports["."].default.default).toBe("./dist/index.js");
    expect(readFileSync(join(dist, "index.js"), "utf8")).not.toContain("startEmulator");
  });
});
