import { IBAuth } from "@ibauth/core";
import type { RunningEmulator } from "@ibauth/emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CANARY_CREDENTIAL, CLIENT_ID, makeKeys, startTestEmulator, type TestKeys } from "./helpers";

// Real HTTP on 127.0.0.1 and real clocks: arrival jitter is real, and the emulator holds IBKR's strict
// window (at most 50 arrivals in any rolling second per user).

let keys: TestKeys;
let server: RunningEmulator;

beforeAll(async () => {
  keys = makeKeys();
  server = await startTestEmulator(keys.publicKeyPem);
});
afterAll(() => server.close());

describe("the pacer over real HTTP against the strict emulator", () => {
  it("200 concurrent auth.fetch across a dead bearer: all 200, 0 × 429, not paused afterwards", async () => {
    const auth = new IBAuth({
      clientId: CLIENT_ID,
      clientKeyId: "main",
      credential: CANARY_CREDENTIAL,
      privateKey: keys.privateKeyPem,
      baseUrl: server.url,
      ipLookupUrl: `${server.url}/__emulator/ip`,
    });
    await auth.connect();
    server.emulator.expireBearers();
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => auth.fetch("/v1/api/iserver/accounts")),
    );
    expect(responses.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    expect(server.emulator.requests.filter((r) => r.status === 429)).toEqual([]);
    expect(auth.status().rateLimitedUntil).toBeUndefined();
    expect(auth.status().counters.bearers).toBe(2);
  }, 60_000);
});
