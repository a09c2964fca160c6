import { describe, expect, it } from "vitest";
import { type Harness, harness } from "./support";

const ibkrRequests = (h: Harness) => h.emu.requests.filter((r) => !r.path.startsWith("/__emulator/")).length;

describe("IBKR's pacing in the Worker", () => {
  it("after a 429 with Retry-After: 120, the cron sends nothing for 120 s, and the proxy answers 429 without sending", async () => {
    const h = await harness();
    await h.tick();
    h.emu.advance(60_000);
    h.emu.failNext({ path: "/v1/api/tickle", status: 429, headers: { "Retry-After": "120" } });
    await h.tick();
    const sent = ibkrRequests(h);
    for (let i = 0; i < 2; i++) {
      h.emu.advance(55_000);
      await h.tick();
    }
    const paused = await h.api("/v1/api/iserver/accounts");
    expect(paused.status).toBe(429);
    expect(Number(paused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(paused.headers.get("retry-after"))).toBeLessThanOrEqual(11); // 10 s and the login's few ms, rounded up
    expect(((await paused.json()) as { error: string }).error).toMatch(/sending resumes at .*Z \(in \d+ s\)/);
    expect(ibkrRequests(h)).toBe(sent);
    h.emu.advance(11_000);
    await h.tick();
    expect(ibkrRequests(h)).toBeGreaterThan(sent);
    expect(h.emu.requests.filter((r) => r.status === 429)).toHaveLength(1);
  });

  it("200 concurrent proxied calls from one isolate: all answered, 0 × 429 under the strict window", async () => {
    const h = await harness({ emulator: { now: () => Date.now() } });
    await h.tick();
    const responses = await Promise.all(Array.from({ length: 200 }, () => h.api("/v1/api/iserver/accounts")));
    expect(responses.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    expect(h.emu.requests.filter((r) => r.status === 429)).toEqual([]);
  }, 60_000);
});
