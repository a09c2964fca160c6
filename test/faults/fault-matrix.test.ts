// The fault matrix: every step x every fault, injected once and persistently. Each cell must recover
// or fail with a fitting IbauthError naming the step, never hang, and stay within IBKR's pacing.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateClientKeys } from "@ibauth/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FAULTS, RETRY_AFTER_S, STEPS } from "./cells";
import { type ClientKeys, makeAuth, recordingFetch, startRig, virtualClock } from "./harness";
import { renderMatrix, renderProblems } from "./render-matrix.mjs";
import {
  type CellResult,
  CREDENTIAL,
  HANG_TIMEOUT_MS,
  type Mode,
  RETRY,
  runCell,
  TIMEOUT_MS,
} from "./run-cell";
import { root } from "./workspace-packages.mjs";

const clock = virtualClock();
let keys: ClientKeys;
let rig: Awaited<ReturnType<typeof startRig>>;
const results: CellResult[] = [];

beforeAll(async () => {
  keys = await generateClientKeys({ bits: 2048 });
  rig = await startRig({ keys, clock, credentials: [CREDENTIAL] });
  // First use compiles the SDK's code paths; that must not count against the cells' short timeout.
  const warm = recordingFetch(clock);
  await makeAuth({ url: rig.url, keys, clock, credential: CREDENTIAL, fetch: warm.fetch }).connect();
  await warm.settled();
});

afterAll(async () => {
  await rig?.close();
  if (!results.length) return;
  for (const mode of ["once", "persistent"] as const) {
    console.log(`\nFault matrix, fault ${mode}:\n\n${renderMatrix(results, mode)}\n`);
  }
  console.log(renderProblems(results));
  mkdirSync(join(root, ".tmp"), { recursive: true });
  const settings = {
    timeoutMs: TIMEOUT_MS,
    hangTimeoutMs: HANG_TIMEOUT_MS,
    retry: RETRY,
    retryAfterS: RETRY_AFTER_S,
  };
  writeFileSync(join(root, ".tmp/fault-matrix.json"), JSON.stringify({ settings, results }, null, 1));
});

describe.each(["once", "persistent"] as Mode[])("fault %s", (mode) => {
  describe.each(STEPS.map((s) => [s.name, s] as const))("%s", (_name, step) => {
    it.each(FAULTS.map((f) => [f.name, f] as const))("%s", async (_fault, fault) => {
      const result = await runCell({ url: rig.url, emulator: rig.emulator, keys, clock }, step, fault, mode);
      results.push(result);
      expect(result.problems).toEqual([]);
    });
  });
});
