import { createWorker, type IbauthWorkerEnv } from "@ibauth/cloudflare";
import { describe, expect, it } from "vitest";

interface Env extends IbauthWorkerEnv {
  IBAUTH_SESSIONS: KVNamespace;
}

describe("createWorker()", () => {
  it("is an ExportedHandler (type-checked by tsconfig.test.json) with fetch and scheduled", () => {
    const worker: ExportedHandler<Env> = createWorker<Env>();
    expect(typeof worker.fetch).toBe("function");
    expect(typeof worker.scheduled).toBe("function");
  });
});
