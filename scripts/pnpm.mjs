// The pinned pnpm, found once for every script and test: the one on PATH when it is the pinned
// version, else through npx (which needs only Node and npm). Run directly, `node scripts/pnpm.mjs <args>`
// runs that pnpm with the args (the root package.json's build and typecheck scripts).
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** "pnpm@12.4.2", from the root package.json's packageManager field. */
export const PNPM = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).packageManager;

function findPnpm() {
  try {
    const version = execFileSync("pnpm", ["--version"], { stdio: ["ignore", "pipe", "ignore"] })
      .toString()
      .trim();
    if (version === PNPM.split("@")[1]) return ["pnpm"];
  } catch {}
  return ["npx", "--yes", PNPM];
}

let found;

/** ["pnpm"] or ["npx", "--yes", "pnpm@12.4.2"]: spawn `[...pnpmCommand(), "pack"]`. */
export function pnpmCommand() {
  found ??= findPnpm();
  return found;
}

/**
 * An environment whose PATH has a `pnpm` that is the pinned one, for tools that spawn `pnpm`
 * themselves (publint and attw pack with it): a shim in .tmp/pnpm-bin when pnpm is not on PATH.
 */
export function envWithPnpm(env = process.env) {
  const [command, ...args] = pnpmCommand();
  if (command === "pnpm") return env;
  const dir = join(ROOT, ".tmp", "pnpm-bin");
  mkdirSync(dir, { recursive: true });
  const shim = join(dir, "pnpm");
  writeFileSync(shim, `#!/bin/sh\nexec ${command} ${args.join(" ")} "$@"\n`);
  chmodSync(shim, 0o755);
  return { ...env, PATH: `${dir}${delimiter}${env.PATH ?? ""}` };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [command, ...args] = [...pnpmCommand(), ...process.argv.slice(2)];
  const r = spawnSync(command, args, { stdio: "inherit" });
  if (r.error) console.error(`cannot run ${command}: ${r.error.message}`);
  process.exit(r.status ?? 1);
}
