import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { advance, control, countsOf, durableHarness, freshLabels } from "./support";

const MINUTE = 60_000;

describe("a simulated day of one user", () => {
  it("costs 1,440 alarms, one tickle each, and storage writes only for the alarm, the daily relogin and the token refresh", async () => {
    const [a] = (await freshLabels(1)) as [string];
    const h = await durableHarness([a]);
    expect((await h.call(a, "/session/login", { method: "POST" })).status).toBe(200);
    // Count the object's storage writes from here on (the spy lives in the object's own storage handle).
    const writes = { put: 0, delete: 0, setAlarm: 0 };
    await runInDurableObject(h.stub(a), (_, state) => {
      const storage = state.storage as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      for (const name of ["put", "delete", "setAlarm"] as const) {
        const original = storage[name]?.bind(state.storage) as (...args: unknown[]) => Promise<unknown>;
        storage[name] = (...args: unknown[]) => {
          writes[name]++;
          return original(...args);
        };
      }
    });
    const before = await countsOf(a);
    const started = performance.now();
    for (let minute = 0; minute < 1440; minute++) {
      await advance(MINUTE);
      // IBKR's daily reset (about 01:00 New York) ends every session once a day
      if (minute === 300) await control("triggerDailyReset");
      await h.alarm(a);
    }
    const wallMs = performance.now() - started;
    const after = await countsOf(a);
    const sent = (key: string) => (after[key] ?? 0) - (before[key] ?? 0);
    console.log(
      `[simulated day] ${JSON.stringify({ writes, tickles: sent("POST /v1/api/tickle"), tokens: sent("POST /oauth2/api/v1/token"), logins: sent("POST /gw/api/v1/sso-sessions"), inits: sent("POST /v1/api/iserver/auth/ssodh/init"), wallMsPerAlarm: (wallMs / 1440).toFixed(1) })}`,
    );
    // one relogin after the daily reset, one access-token refresh before its 24 h run out
    expect([sent("POST /gw/api/v1/sso-sessions"), sent("POST /v1/api/iserver/auth/ssodh/init")]).toEqual([
      1, 1,
    ]);
    expect(sent("POST /oauth2/api/v1/token")).toBe(1);
    expect(sent("POST /v1/api/tickle")).toBe(1440);
    // the alarm itself, and the record only when it changed (token, bearer, init): never per tick
    expect(writes).toEqual({ put: 3, delete: 0, setAlarm: 1440 });
    expect((await h.call(a, "/health")).status).toBe(200);
  }, 300_000); // 1,440 alarms, each with a real HTTP round trip to the emulator
});
