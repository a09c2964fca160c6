// A simulated 24 h against the emulator over HTTP: keepalive ticks every 60 s, hourly bursts of 50
// concurrent auth.fetch calls, a daily reset, two egress-IP changes and a competing session. No user
// call may fail, and the requests per endpoint must be explained by the injected events.
import { isIbauthError, memoryStore, type SessionStore } from "@ibauth/core";
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
import { BURST_SIZE, DAILY_RESET_AT, DAILY_RESET_HOUR_UTC, DURATION, EVENTS, timeline } from "./timeline";

const CREDENTIAL = "soakuser";
const DATA = "/v1/api/iserver/accounts";
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

/** "11-02 18:30:15" (UTC) */
const stamp = (t: number) => new Date(t).toISOString().slice(5, 19).replace("T", " ");

function failure(e: unknown): string {
  return isIbauthError(e) ? `${e.code}@${e.step}: ${e.message}` : String(e);
}

it("24 virtual hours: zero failed user calls, and every login is explained by an event", async () => {
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
  const auth = makeAuth({
    url: rig.url,
    keys,
    clock,
    credential: CREDENTIAL,
    fetch: rec.fetch,
    overrides: { store },
  });
  const emu = rig.emulator;
  const userFailures: string[] = [];
  const tickFailures: string[] = [];
  const actions: Record<string, number> = {};
  let userCalls = 0;

  await auth.connect();
  for (const m of timeline()) {
    clock.t = Math.max(clock.t, m.at); // an SDK back-off may already have moved time past this moment
    if (m.kind === "event") m.apply(emu);
    else if (m.kind === "tick") {
      try {
        const outcome = await auth.tick();
        actions[outcome.action] = (actions[outcome.action] ?? 0) + 1;
      } catch (e) {
        tickFailures.push(`${stamp(clock.t)} ${failure(e)}`);
      }
    } else {
      const calls = Array.from({ length: BURST_SIZE }, () => auth.fetch(DATA));
      userCalls += calls.length;
      for (const r of await Promise.allSettled(calls)) {
        if (r.status === "rejected") userFailures.push(`${stamp(clock.t)} ${failure(r.reason)}`);
        else if (!r.value.ok) userFailures.push(`${stamp(clock.t)} HTTP ${r.value.status}`);
        else await r.value.arrayBuffer();
      }
    }
  }

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
  const tickles = n("GET /v1/api/tickle") + n("POST /v1/api/tickle");
  const inits = n("POST /v1/api/iserver/auth/ssodh/init") + n("GET /v1/api/iserver/auth/ssodh/init");
  const status = auth.status();
  const tokenTimes = rec.hits.filter((h) => `${h.method} ${h.path}` === TOKEN).map((h) => h.at);

  console.log(
    [
      "",
      `Soak: ${DURATION / 3_600_000} virtual hours in ${((performance.now() - wallStart) / 1000).toFixed(1)} s wall time`,
      `start ${stamp(START)}; events: ${EVENTS.map((e) => `${stamp(e.at)} ${e.name}`).join("; ")}; ${stamp(DAILY_RESET_AT)} daily reset (emulator)`,
      "",
      "| count | observed | expected |",
      "|---|---|---|",
      `| user calls (auth.fetch) | ${userCalls} | failed: ${userFailures.length} (expected 0) |`,
      `| keepalive ticks | ${ticks} | failed: ${tickFailures.length} (expected 0); actions ${JSON.stringify(actions)} |`,
      `| access tokens (logins) | ${n(TOKEN)} at ${tokenTimes.map(stamp).join(", ")} | 1 (a 2nd only as a refresh in the token's last ${REFRESH_MARGIN_MS / 60_000} min, from ${stamp(START + EXPIRES_IN_MS - REFRESH_MARGIN_MS)}) |`,
      `| IP lookups | ${n(IP)} | ${1 + ipChanges}..${expectedBearers} (first login + each IP change, at most one per bearer) |`,
      `| SSO bearers | ${n(BEARER)} | ${expectedBearers} = 1 + ${ipChanges} IP changes + ${resets} daily reset |`,
      `| ssodh/init | ${inits} | ${expectedInits} = ${expectedBearers} bearers + ${competing} competing session |`,
      `| tickles | ${tickles} | ${ticks}..${ticks + expectedInits} (one per tick, plus one after a heal) |`,
      `| ${DATA} | ${n(`GET ${DATA}`)} | ${userCalls}..${userCalls + BURST_SIZE * ipChanges} (each call, plus a replay when a burst met a dead bearer) |`,
      `| session store writes | ${storeWrites} | 1..${n(TOKEN) + n(BEARER) + inits} (only when the record changes: never on a plain tickle) |`,
      `| answers 401 / 429 | ${statusCount(401)} / ${statusCount(429)} | 429: 0 |`,
      `| SDK counters | ${JSON.stringify(status.counters)} | |`,
      "",
      "requests per endpoint:",
      ...Object.entries(counts).map(([k, v]) => `  ${k}: ${v}`),
      ...(userFailures.length ? ["failed user calls (first 5):", ...userFailures.slice(0, 5)] : []),
      ...(tickFailures.length ? ["failed ticks (first 5):", ...tickFailures.slice(0, 5)] : []),
      "",
    ].join("\n"),
  );

  expect(userFailures).toEqual([]);
  expect(tickFailures).toEqual([]);
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
  expect(tickles).toBeLessThanOrEqual(ticks + expectedInits);
  expect(n(`GET ${DATA}`)).toBeGreaterThanOrEqual(userCalls);
  expect(n(`GET ${DATA}`)).toBeLessThanOrEqual(userCalls + BURST_SIZE * ipChanges);
  expect(status.counters.bearers).toBe(expectedBearers);
  expect(storeWrites).toBeGreaterThanOrEqual(1);
  expect(storeWrites).toBeLessThanOrEqual(n(TOKEN) + n(BEARER) + inits);
});
