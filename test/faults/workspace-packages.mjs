// The root package does not depend on the workspace packages, so `@ibauth/*` is not resolvable from
// test/. This resolves a package's built entry from its own package.json `exports` (Node conditions),
// for vitest aliases and plain scripts alike: tests still import the built dist by name.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const CONDITIONS = ["node", "import", "default"];

function pick(target) {
  if (typeof target === "string") return target;
  if (target && typeof target === "object") {
    for (const [condition, value] of Object.entries(target)) {
      if (!CONDITIONS.includes(condition)) continue;
      const found = pick(value);
      if (found) return found;
    }
  }
  return undefined;
}

/** Absolute path of `@ibauth/<dir>` (or a subpath such as `@ibauth/emulator/node`) as Node would load it. */
export function resolveWorkspacePackage(specifier) {
  const [, dir, sub] = /^@ibauth\/([^/]+)(\/.*)?$/.exec(specifier) ?? [];
  if (!dir) throw new Error(`not a workspace package: ${specifier}`);
  const pkgDir = join(root, "packages", dir);
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
  const exportsMap =
    typeof pkg.exports === "object" && !("." in pkg.exports) ? { ".": pkg.exports } : pkg.exports;
  const entry = pick(exportsMap?.[sub ? `.${sub}` : "."]) ?? pkg.main;
  if (!entry) throw new Error(`${specifier}: no entry in packages/${dir}/package.json`);
  return join(pkgDir, entry);
}

/** Vitest `resolve.alias` entries for the packages a test project imports. */
export function workspaceAliases(specifiers) {
  return specifiers.map((s) => ({
    find: new RegExp(`^${s.replace("/", "\\/")}$`),
    replacement: resolveWorkspacePackage(s),
  }));
}
