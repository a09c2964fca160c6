// Runs the fault matrix (vitest project "faults"), then writes test/faults/MATRIX.md from the outcomes
// that run recorded in .tmp/fault-matrix.json.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderReport } from "./render-matrix.mjs";
import { root } from "./workspace-packages.mjs";

const resultsFile = join(root, ".tmp/fault-matrix.json");
const run = spawnSync("npx", ["vitest", "run", "--project", "faults"], { cwd: root, stdio: "inherit" });
let recorded;
try {
  recorded = JSON.parse(readFileSync(resultsFile, "utf8"));
} catch {
  console.error(`no results in ${resultsFile}: the faults project did not get to write them`);
  process.exit(run.status || 1);
}
const { results, settings } = recorded;
const report = renderReport(results, {
  ...settings,
  date: `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
});
writeFileSync(join(root, "test/faults/MATRIX.md"), report);
console.log(`wrote test/faults/MATRIX.md (${results.length} cells)`);
process.exit(run.status ?? 1);
