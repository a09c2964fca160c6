// Makes a fresh clone runnable with only Node >= 20 and npm: installs the workspace dependencies
// with the pinned pnpm (through npx when pnpm is not on PATH) and builds every package. Each step
// prints one line; the tools' own output is shown only when a step fails. A warm run does neither:
// the install is skipped while the lockfile's hash matches the last install, the build while no
// package source is newer than its build.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PNPM, pnpmCommand } from "./pnpm.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const STAMP = join(ROOT, "node_modules", ".ibauth-install-stamp");

function run(args, label, quiet) {
  const [cmd, ...rest] = [...pnpmCommand(), ...args];
  if (!quiet) console.error(`[bootstrap] ${label}`);
  const r = spawnSync(cmd, rest, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" },
  });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? `${r.error}\n` : ""}`);
    console.error(`[bootstrap] ${label} failed (exit ${r.status}). Try: npx --yes ${PNPM} install`);
    process.exit(r.status ?? 1);
  }
}

/** What the last install was made from: the lockfile, the Node major, the pnpm version. */
function installKey() {
  return createHash("sha256")
    .update(readFileSync(join(ROOT, "pnpm-lock.yaml")))
    .update(`${process.versions.node.split(".")[0]} ${PNPM}`)
    .digest("hex");
}

/** The newest mtime under `path` (a file or a folder), skipping node_modules. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let max = 0;
  for (const entry of readdirSync(path)) {
    if (entry !== "node_modules") max = Math.max(max, newest(join(path, entry)));
  }
  return max;
}

/** The oldest mtime of the files directly in `dir` (tsup rewrites them all), or 0 when there are none. */
function oldestBuilt(dir) {
  if (!existsSync(dir)) return 0;
  const times = readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs);
  return times.length ? Math.min(...times) : 0;
}

/** Packages with a tsup build whose dist is missing or older than a source file or build setting. */
function staleBuilds() {
  const packages = join(ROOT, "packages");
  return readdirSync(packages).filter((name) => {
    const dir = join(packages, name);
    if (!existsSync(join(dir, "tsup.config.ts"))) return false;
    const sources = Math.max(
      ...["src", "package.json", "tsup.config.ts", "tsconfig.json"].map((f) => newest(join(dir, f))),
    );
    return oldestBuilt(join(dir, "dist")) < sources;
  });
}

/** Installs and builds what is out of date; `quiet` drops the progress lines (failures still print). */
export function bootstrap({ quiet = false } = {}) {
  const key = installKey();
  const installed = existsSync(STAMP) && readFileSync(STAMP, "utf8") === key;
  if (!installed) {
    run(
      ["install", "--frozen-lockfile", "--reporter=silent"],
      existsSync(join(ROOT, "node_modules"))
        ? "updating dependencies"
        : "installing dependencies (first run: ~15 s)",
      quiet,
    );
    writeFileSync(STAMP, key);
  }
  // After an install everything builds; else the stale packages and the packages that depend on
  // them ("...{dir}"; not the root, which links @ibauth/node's bin), in dependency order.
  const stale = staleBuilds();
  if (!installed) run(["-r", "--filter", "./packages/**", "run", "build"], "building packages", quiet);
  else if (stale.length > 0)
    run(
      [
        "-r",
        ...stale.flatMap((name) => ["--filter", `...{./packages/${name}}`]),
        "--filter",
        "!ibauth-monorepo",
        "--filter",
        "!./examples/**",
        "run",
        "build",
      ],
      `building ${stale.join(", ")} and what depends on it`,
      quiet,
    );
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  bootstrap({ quiet: process.argv.includes("--quiet") });
