// The one test command: every vitest project (Node, workerd, Deno, Chromium, packaging), then a plain
// closing line "tests: N passed, N failed, N skipped" that CI reads. Exits non-zero on any failure.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";

mkdirSync(".tmp", { recursive: true });
const out = ".tmp/vitest-report.json";
rmSync(out, { force: true });
const r = spawnSync(
  "npx",
  [
    "vitest",
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${out}`,
    ...process.argv.slice(2),
  ],
  {
    stdio: "inherit",
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" },
  },
);
let report;
try {
  report = JSON.parse(readFileSync(out, "utf8"));
} catch {
  console.log("tests: 0 passed, 1 failed (no report: vitest crashed before finishing)");
  process.exit(r.status || 1);
}
const failed = report.numFailedTests + (report.numFailedTestSuites ?? 0) - 0;
console.log(
  `\ntests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numPendingTests + report.numTodoTests} skipped`,
);
if (r.status !== 0 || failed > 0 || report.numTotalTests === 0) process.exit(r.status || 1);
