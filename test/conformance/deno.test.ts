import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, test } from "vitest";
import { ROOT } from "../support/links";
import { cases } from "./suite";

// Deno: `deno test` runs deno/conformance_test.ts (the same suite, in-process and over Deno.serve)
// with network access to 127.0.0.1 only and no other permission, no lock file and no node_modules
// writes (deno/deno.json). Its TAP report becomes one vitest test per case; a failing case shows
// Deno's own output.
interface DenoRun {
  code: number | null;
  output: string;
}

let run: DenoRun;
// Deno 2.9 can add a "workspaces" key to the root package.json when it resolves from inside a pnpm workspace.
const rootManifest = () => readFileSync(join(ROOT, "package.json"), "utf8");
const manifestBefore = rootManifest();

beforeAll(async () => {
  run = await new Promise<DenoRun>((resolve, reject) => {
    const child = spawn(
      join(ROOT, "node_modules/.bin/deno"),
      [
        "test",
        "--reporter=tap",
        "--config=test/conformance/deno/deno.json",
        "--allow-net=127.0.0.1",
        "--no-prompt",
        "test/conformance/deno/conformance_test.ts",
      ],
      { cwd: ROOT, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } },
    );
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}, 240_000);

/** The TAP block of one case: its ok/not ok line and the diagnostics under it. */
function tapBlock(output: string, name: string): { ok: boolean; text: string } | undefined {
  const lines = output.split("\n");
  const at = lines.findIndex((l) => / - (.*)$/.exec(l)?.[1] === name && /^(not )?ok \d+/.test(l));
  if (at < 0) return undefined;
  const end = lines.findIndex((l, i) => i > at && /^(not )?ok \d+|^1\.\.\d+/.test(l));
  return {
    ok: lines[at]?.startsWith("ok") ?? false,
    text: lines.slice(at, end < 0 ? undefined : end).join("\n"),
  };
}

const TRANSPORTS = {
  "in-process": "emulator's fetch handler in-process",
  http: "emulator behind Deno.serve on 127.0.0.1",
};

for (const [transport, label] of Object.entries(TRANSPORTS)) {
  describe(`deno: ${label}`, () => {
    for (const c of cases) {
      test(c.name, () => {
        const block = tapBlock(run.output, `${transport}: ${c.name}`);
        if (!block)
          throw new Error(`deno did not report this case (exit ${run.code}):\n${run.output.slice(-4000)}`);
        if (!block.ok) throw new Error(`deno: ${block.text}`);
      });
    }
  });
}

test("deno left the root package.json as it was", () => {
  if (rootManifest() !== manifestBefore)
    throw new Error("deno modified package.json: run it from outside the workspace");
});

test("deno test exited cleanly", () => {
  if (run.code !== 0) throw new Error(`deno test exited ${run.code}:\n${run.output.slice(-4000)}`);
});
