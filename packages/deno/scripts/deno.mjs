// Runs the workspace's deno binary (npm package `deno`) for this package's checks and tests.
//
// The working directory is a temp folder outside the repo, on purpose: when an npm import fails to
// resolve, Deno 2.9 "migrates" the nearest pnpm-workspace.yaml into the package.json of the working
// directory's workspace, rewriting the repo's root package.json. Outside the repo there is none to touch.
//
// CLI: `node scripts/deno.mjs check` type-checks the package, its Deno tests, the benchmark and the
// example, and runs a JSR publish dry run.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const PKG = fileURLToPath(new URL("..", import.meta.url));
export const ROOT = resolve(PKG, "../..");
export const DENO = resolve(ROOT, "node_modules/.bin/deno");
export const EXAMPLE = resolve(ROOT, "examples/deno-script");

/** The permissions the Deno tests need: loopback only, and writes only under `tmp`. */
export function testFlags(tmp) {
  return [
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-env",
    `--allow-write=${tmp}`,
    "--unstable-kv",
    "--unstable-cron",
    "--unstable-no-legacy-abort",
  ];
}

/** deno check for the package (source, Deno tests, benchmark) and for the example; a JSR publish dry run. */
export const CHECKS = {
  "deno check: package source, Deno tests, benchmark": [
    "check",
    "--config",
    join(PKG, "deno.json"),
    join(PKG, "src/mod.ts"),
    join(PKG, "test/deno"),
    join(PKG, "bench"),
  ],
  "deno check: examples/deno-script": [
    "check",
    "--config",
    join(EXAMPLE, "deno.json"),
    join(EXAMPLE, "main.ts"),
    join(EXAMPLE, "demo.ts"),
  ],
  // JSR-ready: an offline publish dry run checks the exports, slow types and the published file list.
  "deno publish --dry-run (JSR)": [
    "publish",
    "--config",
    join(PKG, "deno.json"),
    "--dry-run",
    "--allow-dirty",
  ],
};

/** Runs deno; resolves with its exit code and combined output (never rejects on a non-zero exit). */
export function runDeno(args, { env = {}, cwd } = {}) {
  const dir = cwd ?? mkdtempSync(join(tmpdir(), "ibauth-deno-cwd-"));
  return new Promise((resolvePromise, reject) => {
    const child = spawn(DENO, args, {
      cwd: dir,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    const cleanUp = () => {
      if (!cwd) rmSync(dir, { recursive: true, force: true });
    };
    child.on("error", (error) => {
      cleanUp();
      reject(error);
    });
    child.on("close", (code) => {
      cleanUp();
      resolvePromise({ code, output });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command] = process.argv.slice(2);
  if (command !== "check") {
    console.error("usage: node scripts/deno.mjs check");
    process.exit(2);
  }
  let failed = false;
  for (const [name, args] of Object.entries(CHECKS)) {
    const { code, output } = await runDeno(args);
    process.stdout.write(output);
    if (code !== 0) {
      console.error(`${name} failed with exit code ${code}`);
      failed = true;
    }
  }
  process.exit(failed ? 1 : 0);
}
