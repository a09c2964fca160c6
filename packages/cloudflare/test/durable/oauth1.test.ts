// The Durable Object mode with an OAuth 1.0a user (IBKR_OAUTH1_*_SSP) beside OAuth 2.0 users in one
// Worker: the object computes the live session token, signs every proxied request with it, heals a dead
// one once for any number of callers, and keeps it alive with its alarm.
import { describe, expect, inject, it } from "vitest";
import { bindings, control, countsOf, durableHarness, freshLabels, type LoggedRequest } from "./support";
import { SSP } from "./users";
import { world } from "./world";

const LST = "POST /v1/api/oauth/live_session_token";
const INIT = "POST /v1/api/iserver/auth/ssodh/init";
const TICKLE = "POST /v1/api/tickle";

/** The SSP user's requests at the emulator (the only user reaching it from its default caller IP). */
async function sspCounts(): Promise<Record<string, number>> {
  const all = (await (await fetch(`${bindings.TEST_LAB_URL}/requests`)).json()) as LoggedRequest[];
  const out: Record<string, number> = {};
  for (const r of all.filter((r) => r.ip === SSP.ip && r.path.startsWith("/v1/api/")))
    out[`${r.method} ${r.path}`] = (out[`${r.method} ${r.path}`] ?? 0) + 1;
  return out;
}

const asSsp = { headers: { authorization: `Bearer ${SSP.apiKey}` } };

describe("OAuth 1.0a in the Durable Object mode", () => {
  it("an OAuth 1.0a user beside an OAuth 2.0 one: one LST, signed GETs with a query, expire-lst healed once for 20 callers, alarm keepalive, no secret anywhere", async () => {
    // The objects' bindings hold shared OAuth 2.0 settings (IBKR_CLIENT_ID, IBKR_PRIVATE_KEY, IBKR_IP): the
    // SSP user's own IBKR_OAUTH1_ACCESS_TOKEN_SSP keeps them from reaching it (else: a mixed-mode problem).
    const [a] = (await freshLabels(1)) as [string];
    const h = await durableHarness([a, SSP.label]);
    const logsBefore = world.logs.length;

    const first = await h.anonymous("/v1/api/iserver/accounts?b=2&a=x%20y", asSsp);
    expect(first.status).toBe(200);
    expect((await h.call(a, "/v1/api/iserver/accounts")).status).toBe(200);
    let counts = await sspCounts();
    expect(counts[LST]).toBe(1);
    expect(counts[INIT]).toBe(1);
    expect((await countsOf(a))[LST]).toBeUndefined(); // the OAuth 2.0 user stays OAuth 2.0

    await control("expireLst");
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.anonymous("/v1/api/iserver/accounts?x=1", asSsp).then((r) => r.status),
      ),
    );
    expect(results).toEqual(Array(20).fill(200));
    counts = await sspCounts();
    expect(counts[LST]).toBe(2);
    expect((await h.call(a, "/v1/api/iserver/accounts")).status).toBe(200);

    const tickles = counts[TICKLE] ?? 0;
    expect(await h.alarm(SSP.label)).toBe(true);
    counts = await sspCounts();
    expect(counts[TICKLE]).toBe(tickles + 1);
    expect(counts[LST]).toBe(2);

    const health = await h.operator(`/users/${SSP.label}/health`);
    const healthText = await health.text();
    expect(health.status, healthText).toBe(200);
    expect(JSON.parse(healthText)).toMatchObject({ state: "connected" });

    const run = inject("durable");
    const pemLine = (pem: string) => pem.split("\n")[2] ?? "?";
    const storage = JSON.stringify([...(await h.storage(SSP.label)).entries()]);
    const surface = [...world.logs.slice(logsBefore), healthText, storage].join("\n");
    expect(storage).toContain("ibauth-aesgcm-v1:"); // the record (and the LST in it) is sealed
    for (const secret of [
      run.oauth1.accessToken,
      run.oauth1.accessTokenSecret.slice(0, 40),
      run.oauth1.plainSecret,
      pemLine(run.oauth1.signatureKey),
      pemLine(run.oauth1.encryptionKey),
    ])
      expect(surface.includes(secret)).toBe(false);
  });
});
