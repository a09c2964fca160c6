// Generated markdown goes through the repo's formatter (biome pads tables), so `biome check .` stays clean.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { root } from "./workspace-packages.mjs";

export function formatMarkdown(file) {
  const r = spawnSync(join(root, "node_modules/.bin/biome"), ["format", "--write", file], {
    cwd: root,
    encoding: "utf8",
  });
  if (r.status !== 0) console.error(`biome could not format ${file}: ${(r.stderr || r.stdout).trim()}`);
}
