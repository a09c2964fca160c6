// Makes a fresh clone runnable with only Node >= 20 and npm: installs the pinned pnpm's workspace
// dependencies (through npx when pnpm is not on PATH) and builds every package.
import { execSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const PNPM = "pnpm@12.4.2";
const quiet = process.argv.includes("--quiet");

function pnpmCommand() {
  try {
    if (
      execSync("pnpm --version", { stdio: ["ignore", "pipe", "ignore"] })
        .toString()
        .trim() === PNPM.split("@")[1]
    )
      return ["pnpm"];
  } catch {}
  return ["npx", "--yes", PNPM];
}

function run(args, label) {
  const [cmd, ...rest] = [...pnpmCommand(), ...args];
  if (!quiet) console.error(`[bootstrap] ${label}`);
  const r = spawnSync(cmd, rest, {
    stdio: quiet ? ["ignore", "ignore", "inherit"] : "inherit",
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" },
  });
  if (r.status !== 0) {
    console.error(`[bootstrap] ${label} failed (exit ${r.status}). Try: npx --yes ${PNPM} install`);
    process.exit(r.status ?? 1);
  }
}

run(
  ["install", "--frozen-lockfile", "--reporter=silent"],
  existsSync("node_modules") ? "checking dependencies" : "installing dependencies (first run: ~15 s)",
);
run(["-r", "--filter", "./packages/**", "--reporter-hide-prefix", "run", "build"], "building packages");
