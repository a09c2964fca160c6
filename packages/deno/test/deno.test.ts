// Runs the Deno side with the real deno binary: `deno check` on the package and the example and a JSR
// publish dry run, then `deno test` on test/deno against the emulator. Each Deno test becomes one vitest test (from deno's
// JUnit report), so a failure names the Deno test and carries deno's message.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CHECKS, EXAMPLE, PKG, ROOT, runDeno, testFlags } from "../scripts/deno.mjs";

interface DenoRun {
  code: number | null;
  output: string;
}
interface DenoCase {
  file: string;
  name: string;
  failure?: string;
  skipped: boolean;
}

const NEEDED_BUILDS = ["packages/core/dist/index.js", "packages/emulator/dist/index.js"];
const missingBuilds = NEEDED_BUILDS.filter((p) => !existsSync(join(ROOT, p)));
if (missingBuilds.length > 0) {
  throw new Error(
    `missing ${missingBuilds.join(", ")}: build first (npm test does; or pnpm -r --filter ./packages/** run build)`,
  );
}

/**
 * What Deno could be tempted to write: our own config files (hashed), the "workspaces" key it adds to the
 * root package.json when migrating pnpm-workspace.yaml (only that key: others edit that file), and lockfiles.
 */
function trackedSnapshot(): Record<string, string> {
  const snap: Record<string, string> = {};
  for (const f of [join(PKG, "package.json"), join(PKG, "deno.json"), join(EXAMPLE, "deno.json")]) {
    snap[f] = createHash("sha256").update(readFileSync(f)).digest("hex");
  }
  snap["root package.json workspaces"] = JSON.stringify(
    JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).workspaces ?? null,
  );
  for (const dir of [ROOT, PKG, EXAMPLE]) {
    snap[`${dir}: deno.lock or node_modules/.deno`] = String(
      readdirSync(dir).includes("deno.lock") || existsSync(join(dir, "node_modules/.deno")),
    );
  }
  return snap;
}

const tmp = mkdtempSync(join(tmpdir(), "ibauth-deno-test-"));
const junit = join(tmp, "junit.xml");
const before = trackedSnapshot();
const checks: Record<string, DenoRun> = {};
for (const [name, args] of Object.entries(CHECKS as Record<string, string[]>))
  checks[name] = await runDeno(args);
const tests: DenoRun = await runDeno(
  [
    "test",
    "--no-check", // the package check above already type-checked test/deno
    "--config",
    join(PKG, "deno.json"),
    ...testFlags(tmp),
    `--junit-path=${junit}`,
    join(PKG, "test/deno"),
  ],
  { env: { IBAUTH_TEST_TMP: tmp } },
);
const after = trackedSnapshot();
const cases = existsSync(junit) ? parseJunit(readFileSync(junit, "utf8")) : [];
// deno's own per-test lines, in the vitest output for this file.
console.log(tests.output);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("deno check and publish --dry-run", () => {
  for (const [name, run] of Object.entries(checks)) {
    it(name, () => {
      if (run.code !== 0) throw new Error(`${name} exited ${run.code}:\n${run.output}`);
    });
  }
});

describe("deno test", () => {
  it("exits 0 with a JUnit report", () => {
    if (tests.code !== 0 || cases.length === 0)
      throw new Error(`deno test exited ${tests.code}:\n${tests.output}`);
  });
  for (const c of cases) {
    const title = `${c.file.replace(/^.*test\/deno\//, "")} > ${c.name}`;
    if (c.skipped) it.skip(title, () => {});
    else
      it(title, () => {
        if (c.failure !== undefined) throw new Error(c.failure);
      });
  }
});

it("running deno changed no tracked file and wrote no lockfile", () => {
  expect(after).toEqual(before);
});

function parseJunit(xml: string): DenoCase[] {
  const decode = (s: string) =>
    s
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">")
      .replaceAll("&quot;", '"')
      .replaceAll("&apos;", "'")
      .replaceAll("&amp;", "&");
  const out: DenoCase[] = [];
  for (const suite of xml.matchAll(/<testsuite name="([^"]*)"[^>]*>([\s\S]*?)<\/testsuite>/g)) {
    for (const tc of (suite[2] ?? "").matchAll(
      /<testcase name="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g,
    )) {
      const body = tc[2] ?? "";
      const failure = /<failure[^>]*?(?:message="([^"]*)")?[^>]*>([\s\S]*?)<\/failure>/.exec(body);
      out.push({
        file: decode(suite[1] ?? ""),
        name: decode(tc[1] ?? ""),
        skipped: body.includes("<skipped"),
        ...(failure ? { failure: decode(`${failure[1] ?? ""}\n${failure[2] ?? ""}`.trim()) } : {}),
      });
    }
  }
  return out;
}
