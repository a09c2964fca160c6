// Node-only. test/ is not a workspace package, so `@ibauth/*` would not resolve from here. Each test
// folder gets node_modules/@ibauth/<name> symlinks to packages/<name> (node_modules is git-ignored),
// and every resolver (Node, vite, esbuild, Deno's manual node_modules mode) then reads the packages'
// own `exports`, with the conditions of the runtime at hand, from their built dist/.
import { mkdirSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export function linkWorkspacePackages(dir: string, names = ["core", "emulator"]): void {
  for (const name of names) {
    const link = join(dir, "node_modules", "@ibauth", name);
    const target = relative(dirname(link), join(ROOT, "packages", name));
    try {
      if (readlinkSync(link) === target) continue;
      rmSync(link, { force: true, recursive: true });
    } catch {}
    mkdirSync(dirname(link), { recursive: true });
    try {
      symlinkSync(target, link, "dir");
    } catch (error) {
      // Another project's config may have made the same link a moment ago.
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

/** Links every folder of this repository's shared test code that imports `@ibauth/*`. */
export function linkTestFolders(): void {
  for (const folder of ["support", "conformance", "workers", "browser"])
    linkWorkspacePackages(join(ROOT, "test", folder));
}
