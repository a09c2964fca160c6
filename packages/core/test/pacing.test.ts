import { IBAuth, MAX_RETRY_AFTER_MS, memoryStore } from "@ibauth/core";
import type { Emulator } from "@ibauth/emulator";
import { describe, expect, it } from "vitest";
import { rejection, testBed } from "./fixture";

// All against the emulator's strict model: 50 arrivals in any rolling second per user, IBKR's table.

const statusesOf = (emu: Pick<Emulator, "requests">) => emu.requests.map((r) => r.status);

describe("the pacer under IBKR's strict limits", () => {
  it("200 concurrent calls across a dead bearer: all succeed, 0 × 429, not paused, at most 45 sends in any second", async () => {
    const { auth, emu } = await testBed();
    await auth.connect();
    emu.expireBearers();
    const responses = await Promise.all(
      Array.from({ length: 200 }, () => auth.fetch("/v1/api/iserver/accounts")),
    );
    expect(responses.map((r) => r.status).filter((s) => s !== 200)).toEqual([]);
    expect(statusesOf(emu).filter((s) => s === 429)).toEqual([]);
    expect(auth.status().rateLimitedUntil).toBeUndefined();
    const api = emu.requests.filter((r) => r.path.startsWith("/v1/api/")).map((r) => r.at);
    const busiest = Math.max(...api.map((t) => api.filter((u) => u >= t && u < t + 1000).length));
    expect(busiest).toBeLessThanOrEqual(45);
  });

  it("the endpoint table: /portfolio/accounts 5 × in a row waits its 5 s turns, 0 × 429", async () => {
    const { auth, emu } = await testBed();
    await auth.connect();
    for (let i = 0; i < 5; i++) expect((await auth.fetch("/v1/api/portfolio/accounts")).status).toBe(200);
    const sent = emu.requests.filter((r) => r.path === "/v1/api/portfolio/accounts").map((r) => r.at);
    expect(sent).toHaveLength(5);
    for (let i = 1; i < 5; i++)
      expect((sent[i] as number) - (sent[i - 1] as number)).toBeGreaterThanOrEqual(5000);
    expect(statusesOf(emu).filter((s) => s === 429)).toEqual([]);
  });

  it("a queued call is cancelled by its AbortSignal; other endpoints pass it meanwhile", async () => {
    const { auth, emu } = await testBed();
    await auth.connect();
    await auth.fetch("/v1/api/portfolio/accounts");
    const abort = new AbortController();
    const waiting = auth.fetch("/v1/api/portfolio/accounts", { signal: abort.signal });
    expect((await auth.fetch("/v1/api/iserver/auth/status")).status).toBe(200);
    abort.abort();
    expect(await rejection(waiting)).toMatchObject({ code: "ERR_ABORTED" });
    expect(emu.requests.filter((r) => r.path === "/v1/api/portfolio/accounts")).toHaveLength(1);
  });

  it("extendable table: a user row paces a path IBKR's defaults do not list", async () => {
    const { auth, emu } = await testBed({
      auth: { endpointLimits: { "/v1/api/iserver/auth/status": { requests: 1, perMs: 2000 } } },
    });
    await auth.connect();
    await Promise.all([auth.fetch("/v1/api/iserver/auth/status"), auth.fetch("/v1/api/iserver/auth/status")]);
    const sent = emu.requests.filter((r) => r.path === "/v1/api/iserver/auth/status").map((r) => r.at);
    expect((sent[1] as number) - (sent[0] as number)).toBeGreaterThanOrEqual(2000);
  });
});

describe("429 semantics", () => {
  it("a burst of 429s is one strike: a 60 s pause, not 10 minutes, and the error says when sending resumes", async () => {
    const { auth, emu, clock } = await testBed();
    await auth.connect();
    emu.failNext({ path: "/v1/api/iserver/accounts", status: 429, count: 14, body: { error: "Too many" } });
    const results = await Promise.allSettled(
      Array.from({ length: 14 }, () => auth.fetch("/v1/api/iserver/accounts")),
    );
    expect(results.every((r) => r.status === "rejected")).toBe(true);
    const until = auth.status().rateLimitedUntil as number;
    expect(until - clock.t).toBeLessThanOrEqual(60_000);
    const e = await rejection(auth.fetch("/v1/api/iserver/accounts"));
    expect(e.message).toContain(new Date(until).toISOString());
    expect(e.message).toMatch(/in \d+ s\)/);
  });

  it("Retry-After: 99999999 pauses for at most MAX_RETRY_AFTER_MS (15 min)", async () => {
    const { auth, emu, clock } = await testBed();
    await auth.tick();
    clock.t += 60_000;
    emu.failNext({ path: "/v1/api/tickle", status: 429, headers: { "Retry-After": "99999999" } });
    const e = await rejection(auth.tick());
    expect(e.retryAfterMs).toBe(MAX_RETRY_AFTER_MS);
    clock.t += MAX_RETRY_AFTER_MS;
    expect((await auth.tick()).action).not.toBe("skipped");
  });

  it("the penalty outlives the IBAuth and a logout: a new instance on the same store sends nothing until it ends", async () => {
    const store = memoryStore();
    const { auth, emu, clock, options } = await testBed({ auth: { store } });
    await auth.tick();
    clock.t += 60_000;
    emu.failNext({ path: "/v1/api/tickle", status: 429, headers: { "Retry-After": "120" } });
    await rejection(auth.tick());
    await store.delete(); // what logout does to the session record
    const next = new IBAuth(options);
    const toIbkr = () => emu.requests.filter((r) => r.path !== "/__emulator/ip").length;
    const sent = toIbkr();
    expect(await rejection(next.connect())).toMatchObject({ code: "ERR_RATE_LIMITED" });
    expect(toIbkr()).toBe(sent); // the IP lookup is another service, with its own pacer
    clock.t += 120_000;
    await next.connect();
    expect(statusesOf(emu).filter((s) => s === 429)).toHaveLength(1);
  });

  it("/sso/validate's minute is shared by every instance of the username: the second one waits, 0 × 429", async () => {
    const store = memoryStore();
    const { auth, emu, options } = await testBed({ auth: { store } });
    await auth.validateSso();
    await auth.logout();
    const next = new IBAuth(options);
    await next.connect();
    expect((await next.validateSso()).valid).toBe(true);
    const at = emu.requests.filter((r) => r.path === "/v1/api/sso/validate").map((r) => r.at);
    expect((at[1] as number) - (at[0] as number)).toBeGreaterThanOrEqual(60_000);
    expect(statusesOf(emu).filter((s) => s === 429)).toEqual([]);
  });
});
