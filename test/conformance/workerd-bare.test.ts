import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, test } from "vitest";
import { bundle } from "../support/bundle";
import { type CaseResult, cases } from "./suite";

// workerd WITHOUT nodejs_compat: the suite bundled into one Worker module (platform "neutral", so an
// import of node:* fails the bundle), run in a bare Miniflare; one vitest test per case.
let mf: Miniflare | undefined;
let results: Promise<CaseResult[]>;

beforeAll(async () => {
  const script = await bundle({
    entry: fileURLToPath(new URL("../workers/bare-worker.ts", import.meta.url)),
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
  });
  mf = new Miniflare({
    modules: true,
    script,
    compatibilityDate: "2026-04-01",
    compatibilityFlags: [],
    host: "127.0.0.1",
  });
  results = mf.dispatchFetch("http://127.0.0.1/").then(async (res) => {
    if (!res.ok) throw new Error(`the Worker failed: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as CaseResult[];
  });
  await results.catch(() => {});
});

afterAll(async () => {
  await mf?.dispose();
});

describe("workerd without nodejs_compat: bundled suite in a bare Miniflare", () => {
  for (const c of cases) {
    test(c.name, async () => {
      const result = (await results).find((r) => r.name === c.name);
      if (!result) throw new Error("the Worker did not report this case");
      if (!result.ok) throw new Error(result.error);
    });
  }
});
