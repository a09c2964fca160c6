import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { envWithPnpm } from "../../scripts/pnpm.mjs";
import { runtimeUsages } from "./runtime-scan";

const ROOT = join(import.meta.dirname, "../..");
const bin = (name: string) => join(ROOT, "node_modules/.bin", name);
// publint and attw spawn `pnpm pack` themselves: give them the pinned pnpm even when none is installed.
const ENV = envWithPnpm({ ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" });

function run(command: string, args: string[], cwd: string): { ok: boolean; output: string } {
  const r = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    timeout: 150_000,
    env: ENV,
  });
  return {
    ok: r.status === 0,
    output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}`,
  };
}

const packages = readdirSync(join(ROOT, "packages")).filter((d) =>
  existsSync(join(ROOT, "packages", d, "package.json")),
);
const manifest = (dir: string) =>
  JSON.parse(readFileSync(join(ROOT, "packages", dir, "package.json"), "utf8"));

describe("publint (package.json against what is packed)", () => {
  for (const dir of packages) {
    test(manifest(dir).name, () => {
      const r = run(bin("publint"), ["--strict", "."], join(ROOT, "packages", dir));
      if (!r.ok) throw new Error(r.output);
    });
  }
});

describe("attw --pack --profile esm-only (types resolve for every entry point)", () => {
  for (const dir of packages) {
    const pkg = manifest(dir);
    // A private package ships no npm entry points to type (@ibauth/deno is Deno source for JSR).
    test.skipIf(pkg.private === true)(pkg.name, () => {
      const r = run(
        bin("attw"),
        ["--pack", ".", "--profile", "esm-only", "--format", "ascii"],
        join(ROOT, "packages", dir),
      );
      if (!r.ok) throw new Error(r.output);
    });
  }
});

describe("the core's build holds no runtime-specific code", () => {
  test("packages/core/dist: no node:, cloudflare:, Node builtins, require, process, Buffer or Deno", () => {
    const dist = join(ROOT, "packages/core/dist");
    const files = readdirSync(dist).filter((f) => /\.(js|mjs|d\.ts)$/.test(f));
    expect(files.length, "built files in packages/core/dist").toBeGreaterThan(0);
    const found = files.flatMap((f) =>
      runtimeUsages(readFileSync(join(dist, f), "utf8")).map((u) => `${f}: ${u}`),
    );
    expect(found).toEqual([]);
  });

  test("the scan recognises each kind of runtime usage", () => {
    const offenders = [
      'import { readFile } from "node:fs";',
      'import { createHash } from "crypto";',
      'const m = require("x");',
      "const token = process.env.TOKEN;",
      'const b = Buffer.from("x");',
      "const v = Deno.env.get('X');",
      'import { env } from "cloudflare:workers";',
    ];
    for (const line of offenders) expect(runtimeUsages(line), line).not.toEqual([]);
    expect(
      runtimeUsages('const msg = "failed to process request"; const buffer = new Uint8Array(4);'),
    ).toEqual([]);
  });
});

describe("examples type-check (tsc --noEmit with the example's tsconfig; deno check for a Deno example)", () => {
  const examples = existsSync(join(ROOT, "examples"))
    ? readdirSync(join(ROOT, "examples"), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
    : [];
  test("there are examples", () => {
    expect(examples.length).toBeGreaterThan(0);
  });
  for (const name of examples) {
    test(`examples/${name}`, () => {
      const dir = join(ROOT, "examples", name);
      let r: { ok: boolean; output: string };
      if (existsSync(join(dir, "tsconfig.json"))) {
        r = run(bin("tsc"), ["--noEmit", "-p", join(dir, "tsconfig.json")], ROOT);
      } else if (existsSync(join(dir, "deno.json"))) {
        // A Deno example type-checks with Deno (its globals, its import map), not tsc.
        const files = readdirSync(dir).filter((f) => f.endsWith(".ts"));
        expect(files.length, `TypeScript files in examples/${name}`).toBeGreaterThan(0);
        r = run(
          bin("deno"),
          ["check", `--config=${join(dir, "deno.json")}`, ...files.map((f) => join(dir, f))],
          ROOT,
        );
      } else {
        throw new Error(`examples/${name} has neither tsconfig.json nor deno.json to type-check with`);
      }
      if (!r.ok) throw new Error(r.output);
    });
  }
});

test.each(["test/conformance/tsconfig.json", "test/faults/tsconfig.json"])(
  "the cross-runtime, fault and soak test code type-checks (tsc --noEmit -p %s)",
  (project) => {
    const r = run(bin("tsc"), ["--noEmit", "-p", project], ROOT);
    if (!r.ok) throw new Error(r.output);
  },
);

test("biome: lint and format clean (warnings allowed)", () => {
  const r = run(bin("biome"), ["ci", "."], ROOT);
  expect(r.ok, r.output.slice(-4000)).toBe(true);
});

describe("every package type-checks, source and tests (its own typecheck script)", () => {
  // @ibauth/deno is checked by `deno check` in its own project.
  for (const dir of packages.filter((d) => d !== "deno")) {
    test(`@ibauth/${dir}`, () => {
      const r = run("npm", ["run", "--silent", "typecheck"], join(ROOT, "packages", dir));
      expect(r.ok, r.output.slice(-4000)).toBe(true);
    });
  }
});
