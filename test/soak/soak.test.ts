// A simulated 24 h against the emulator over HTTP: keepalive ticks every 60 s, hourly bursts of 50
// concurrent auth.fetch calls, a daily reset, two egress-IP changes and a competing session. No user
// call may fail, and the requests per endpoint must be explained by the injected events. Run once with
// one SDK instance, and once with two sharing a store (a keepalive process and a request handler, as
// the Worker's cron and fetch handlers are): a session renewed by one must be adopted by the other.
import { type IBAuth, memoryStore, type SessionStore } from "@ibauth/core";
import { generateClientKeys } from "@ibauth/emulator";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  type ClientKeys,
  countByEndpoint,
  makeAuth,
  recordingFetch,
  START,
  startRig,
  virtualClock,
} from "../faults/harness";
import { DATA, runDay, stamp } from "./run-day";
import { BURST_SIZE, DAILY_RESET_AT, DAILY_RESET_HOUR_UTC, DURATION, EVENTS, timeline } from "./timeline";

const CREDENTIAL = "soakuser";
const TOKEN = "POST /oauth2/api/v1/token";
const BEARER = "POST /gw/api/v1/sso-sessions";
const IP = "GET /__emulator/ip";
/** The SDK's default refreshMarginMs and the emulator's default expires_in. */
const REFRESH_MARGIN_MS = 5 * 60_000;
const EXPIRES_IN_MS = 86_399_000;

const clock = virtualClock();
let keys: ClientKeys;
let rig: Awaited<ReturnType<typeof startRig>>;

beforeAll(async () => {
  keys = await generateClientKeys({ bits: 2048 });
  rig = await startRig({
    keys,
    clock,
    credentials: [CREDENTIAL],
    emulator: { dailyReset: { hourUtc: DAILY_RESET_HOUR_UTC } },
  });
});
afterAll(() => rig?.close());

it.each([
  ["one instance", 1],
  ["two instances sharing a store", 2],
])(
  "24 virtual hours, %s: zero failed user calls, and every login is explained by an event",
  async (name, instances) => {
    rig.emulator.reset();
    clock.t = START;
    const wallStart = performance.now();
    const rec = recordingFetch(clock);
    // The real memory store, with its writes counted: a KV store allows about 1,000 writes a day.
    const held = memoryStore();
    let storeWrites = 0;
    const store: SessionStore = {
      ...held,
      set: (record) => {
        storeWrites++;
        return held.set(record);
      },
    };
    const sdk = () =>
      makeAuth({ url: rig.url, keys, clock, credential: CREDENTIAL, fetch: rec.fetch, overrides: { store } });
    const keepalive: IBAuth = sdk();
    const caller: IBAuth = instances === 1 ? keepalive : sdk();
    await keepalive.connect();
    await caller.connect(); // the second instance finds the session in the store: no requests
    const day = await runDay(clock, rig.emulator, keepalive, caller);

    const counts = countByEndpoint(rec.hits);
    const n = (key: string) => counts[key] ?? 0;
    const statusCount = (s: number) => rec.hits.filter((h) => h.status === s).length;
    const ipChanges = EVENTS.filter((e) => e.name.startsWith("egress IP")).length;
    const competing = EVENTS.filter((e) => e.name.startsWith("competing")).length;
    const resets = START < DAILY_RESET_AT && DAILY_RESET_AT < START + DURATION ? 1 : 0;
    const ticks = timeline().filter((m) => m.kind === "tick").length;
    // A bearer dies with the session: first login, each IP change, the daily reset. Init opens the
    // brokerage session for each bearer, and once more to take it back from the competing session.
    const expectedBearers = 1 + ipChanges + resets;
    const expectedInits = expectedBearers + competing;
    // A burst that meets a dead bearer replays each call once: at most one burst per bearer change.
    const maxReplays = BURST_SIZE * (expectedBearers - 1);
    // Heals probe with a tickle; at most one per instance and bearer change (plus the reinit's).
    const maxTickles = ticks + instances * expectedInits;
    const tickles = n("GET /v1/api/tickle") + n("POST /v1/api/tickle");
    const inits = n("POST /v1/api/iserver/auth/ssodh/init") + n("GET /v1/api/iserver/auth/ssodh/init");
    const tokenTimes = rec.hits.filter((h) => `${h.method} ${h.path}` === TOKEN).map((h) => h.at);

    console.log(
      [
        "",
        `Soak, ${name}: ${DURATION / 3_600_000} virtual hours in ${((performance.now() - wallStart) / 1000).toFixed(1)} s wall time`,
        `start ${stamp(START)}; events: ${EVENTS.map((e) => `${stamp(e.at)} ${e.name}`).join("; ")}; ${stamp(DAILY_RESET_AT)} daily reset (emulator)`,
        "",
        "| count | observed | expected |",
        "|---|---|---|",
        `| user calls (auth.fetch) | ${day.userCalls} | failed: ${day.userFailures.length} (expected 0) |`,
        `| keepalive ticks | ${ticks} | failed: ${day.tickFailures.length} (expected 0); actions ${JSON.stringify(day.actions)} |`,
        `| access tokens (logins) | ${n(TOKEN)} at ${tokenTimes.map(stamp).join(", ")} | 1 (a 2nd only as a refresh in the token's last ${REFRESH_MARGIN_MS / 60_000} min, from ${stamp(START + EXPIRES_IN_MS - REFRESH_MARGIN_MS)}) |`,
        `| IP lookups | ${n(IP)} | ${1 + ipChanges}..${expectedBearers} (first login + each IP change, at most one per bearer) |`,
        `| SSO bearers | ${n(BEARER)} | ${expectedBearers} = 1 + ${ipChanges} IP changes + ${resets} daily reset |`,
        `| ssodh/init | ${inits} | ${expectedInits} = ${expectedBearers} bearers + ${competing} competing session |`,
        `| tickles | ${tickles} | ${ticks}..${maxTickles} (one per tick, plus heal probes) |`,
        `| ${DATA} | ${n(`GET ${DATA}`)} | ${day.userCalls}..${day.userCalls + maxReplays} (each call, plus a replay when a burst met a dead bearer) |`,
        `| session store writes | ${storeWrites} | 1..${n(TOKEN) + n(BEARER) + inits} (only when the record changes: never on a plain tickle) |`,
        `| answers 401 / 429 | ${statusCount(401)} / ${statusCount(429)} | 429: 0 |`,
        "",
        "requests per endpoint:",
        ...Object.entries(counts).map(([k, v]) => `  ${k}: ${v}`),
        ...(day.userFailures.length ? ["failed user calls (first 5):", ...day.userFailures.slice(0, 5)] : []),
        ...(day.tickFailures.length ? ["failed ticks (first 5):", ...day.tickFailures.slice(0, 5)] : []),
        "",
      ].join("\n"),
    );

    expect(day.userFailures).toEqual([]);
    expect(day.tickFailures).toEqual([]);
    expect(statusCount(429)).toBe(0);
    expect(n(BEARER)).toBe(expectedBearers);
    expect(inits).toBe(expectedInits);
    // One login; a second access token is only allowed as a refresh inside the first one's margin.
    expect(tokenTimes.length).toBeGreaterThanOrEqual(1);
    expect(tokenTimes.length).toBeLessThanOrEqual(2);
    if (tokenTimes[1] !== undefined)
      expect(tokenTimes[1]).toBeGreaterThanOrEqual(START + EXPIRES_IN_MS - REFRESH_MARGIN_MS);
    expect(n(IP)).toBeGreaterThanOrEqual(1 + ipChanges);
    expect(n(IP)).toBeLessThanOrEqual(expectedBearers);
    expect(tickles).toBeGreaterThanOrEqual(ticks);
    expect(tickles).toBeLessThanOrEqual(maxTickles);
    expect(n(`GET ${DATA}`)).toBeGreaterThanOrEqual(day.userCalls);
    expect(n(`GET ${DATA}`)).toBeLessThanOrEqual(day.userCalls + maxReplays);
    expect(storeWrites).toBeGreaterThanOrEqual(1);
    expect(storeWrites).toBeLessThanOrEqual(n(TOKEN) + n(BEARER) + inits);
  },
);
