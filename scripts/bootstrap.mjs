// Makes a fresh clone runnable with only Node >= 20 and npm: installs the pinned pnpm's workspace
// dependencies (through npx when pnpm is not on PATH) and builds every package. Each step prints one
// line; the tools' own output is shown only when a step fails.
import { execSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

const PNPM = "pnpm@12.4.2";
const quiet = process.argv.includes("--quiet");

function pnpmCommand() {
  try {
    const version = execSync("pnpm --version", { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
    if (version === PNPM.split("@")[1]) return ["pnpm"];
  } catch {}
  return ["npx", "--yes", PNPM];
}

function run(args, label) {
  const [cmd, ...rest] = [...pnpmCommand(), ...args];
  if (!quiet) console.error(`[bootstrap] ${label}`);
  const r = spawnSync(cmd, rest, { encoding: "utf8", env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" } });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? `${r.error}\n` : ""}`);
    console.error(`[bootstrap] ${label} failed (exit ${r.status}). Try: npx --yes ${PNPM} install`);
    process.exit(r.status ?? 1);
  }
}

run(
  ["install", "--frozen-lockfile", "--reporter=silent"],
  existsSync("node_modules") ? "checking dependencies" : "installing dependencies (first run: ~15 s)",
);
run(["-r", "--filter", "./packages/**", "run", "build"], "building packages");
