// The cross-runtime conformance suite: named cases against @ibauth/core's public API and the
// emulator, in web-standard TypeScript only, so Node, workerd, Deno and Chromium run it unchanged.
import { canaryCases } from "./cases/canary";
import { connectCases } from "./cases/connect";
import { errorCases } from "./cases/errors";
import { healCases } from "./cases/heal";
import { oauth1Cases } from "./cases/oauth1";
import { wireFormatCases } from "./cases/wire-format";
import { type Case, runCase } from "./context";

export type { Transport } from "../support/emulator-handle";
export { inProcessTransport } from "../support/emulator-handle";
export type { Case, Ctx } from "./context";
export { runCase };

export const cases: Case[] = [
  ...connectCases,
  ...wireFormatCases,
  ...healCases,
  ...errorCases,
  ...canaryCases,
  ...oauth1Cases,
];

export interface CaseResult {
  name: string;
  ok: boolean;
  ms: number;
  error?: string;
}

/** Runs every case in order and reports each; for runners that collect results from elsewhere (a page, a bare Worker). */
export async function runAll(transport: Parameters<typeof runCase>[1]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const started = performance.now();
    try {
      await runCase(c, transport);
      results.push({ name: c.name, ok: true, ms: Math.round(performance.now() - started) });
    } catch (error) {
      const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      results.push({ name: c.name, ok: false, ms: Math.round(performance.now() - started), error: message });
    }
  }
  return results;
}
