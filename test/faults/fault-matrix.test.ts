// The fault matrix: every step x every fault, injected once and persistently, under both logins (OAuth 2.0
// and OAuth 1.0a; each login's own steps and faults only under it). Each cell must recover or fail with a
// fitting IbauthError naming the step, never hang, and stay within IBKR's pacing.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateClientKeys, generateOauth1Credentials, type Oauth1Credentials } from "@ibauth/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cellsFor, type Mode, RETRY_AFTER_S } from "./cells";
import { type ClientKeys, type Login, makeAuth, recordingFetch, startRig, virtualClock } from "./harness";
import { renderMatrix, renderProblems } from "./render-matrix.mjs";
import { type CellResult, CREDENTIAL, HANG_TIMEOUT_MS, RETRY, runCell, TIMEOUT_MS } from "./run-cell";
import { root } from "./workspace-packages.mjs";

const clock = virtualClock();
let keys: ClientKeys;
let oauth1: Oauth1Credentials;
let foreignSignatureKey: string;
let rig: Awaited<ReturnType<typeof startRig>>;
const results: CellResult[] = [];
const LOGINS: Login[] = ["oauth2", "oauth1"];
const MODES: Mode[] = ["once", "persistent"];

beforeAll(async () => {
  let foreign: Oauth1Credentials;
  [keys, oauth1, foreign] = await Promise.all([
    generateClientKeys({ bits: 2048 }),
    generateOauth1Credentials({ consumerKey: "FAULTCONS", credential: "faultoauth1" }),
    generateOauth1Credentials({ consumerKey: "FAULTCONS" }),
  ]);
  foreignSignatureKey = foreign.client.signatureKey;
  rig = await startRig({ keys, clock, credentials: [CREDENTIAL], oauth1 });
  // First use compiles the SDK's code paths; that must not count against the cells' short timeout.
  for (const login of LOGINS) {
    const warm = recordingFetch(clock);
    await makeAuth({
      url: rig.url,
      keys,
      clock,
      credential: CREDENTIAL,
      fetch: warm.fetch,
      ...(login === "oauth1" ? { oauth1: oauth1.client } : {}),
    }).connect();
    await warm.settled();
  }
});

afterAll(async () => {
  await rig?.close();
  if (!results.length) return;
  for (const login of LOGINS)
    for (const mode of MODES)
      console.log(`\nFault matrix, ${login}, fault ${mode}:\n\n${renderMatrix(results, mode, login)}\n`);
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

describe.each(LOGINS)("%s", (login) => {
  describe.each(MODES)("fault %s", (mode) => {
    it.each(cellsFor(login, mode).map((c) => [c.step.name, c.fault.name, c] as const))(
      "%s × %s",
      async (_step, _fault, { step, fault }) => {
        const ctx = { url: rig.url, emulator: rig.emulator, keys, clock, oauth1, foreignSignatureKey };
        const result = await runCell(ctx, login, step, fault, mode);
        results.push(result);
        expect(result.problems).toEqual([]);
      },
    );
  });
});
