import { afterEach, describe, expect, it, vi } from "vitest";
import { BASE, rig, UA } from "./helpers.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("failNext fault injection", () => {
  it("status faults with body and headers, for `count` matching requests, then normal answers", async () => {
    const r = await rig({ rateLimits: false });
    const bearer = await r.brokerage();
    r.emu.failNext({
      path: "/v1/api/iserver/auth/ssodh/init",
      status: 500,
      body: { error: "failed to generate sso dh token" },
      headers: { "x-fault": "1" },
      count: 2,
    });
    for (let i = 0; i < 2; i++) {
      const res = await r.api("/iserver/auth/ssodh/init?publish=true", bearer);
      expect(res.status).toBe(500);
      expect(res.headers.get("x-fault")).toBe("1");
      expect(await res.json()).toEqual({ error: "failed to generate sso dh token" });
    }
    expect((await r.api("/iserver/auth/ssodh/init?publish=true", bearer)).status).toBe(200);
  });

  it("a fault answers before any verification (it models the infrastructure, not the rules)", async () => {
    const r = await rig();
    r.emu.failNext({ path: "/oauth2/api/v1/token", status: 503 });
    const res = await r.emu.fetch(`${BASE}/oauth2/api/v1/token`, {
      method: "POST",
      body: "",
      headers: { "user-agent": UA },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });

  it("matches prefixes ending in *, RegExps, and an optional method", async () => {
    const r = await rig({ rateLimits: false });
    const bearer = await r.bearer();
    r.emu.failNext({ path: "/v1/api/portfolio/*", status: 502 });
    expect((await r.api("/tickle", bearer)).status).toBe(200);
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(502);
    r.emu.failNext({ path: /\/tickle$/, method: "POST", status: 410, body: "" });
    expect((await r.api("/tickle", bearer)).status).toBe(200);
    expect((await r.api("/tickle", bearer, { method: "POST" })).status).toBe(410);
  });

  it("the tickle 'accepted but not processed' answer: 200 with an error body", async () => {
    const r = await rig({ rateLimits: false });
    const bearer = await r.bearer();
    r.emu.failNext({ path: "/v1/api/tickle", status: 200, body: { error: "failed to process request" } });
    const res = await r.api("/tickle", bearer);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ error: "failed to process request" });
  });

  it("html: a CDN error page; invalid-json: 200 with a broken JSON body", async () => {
    const r = await rig({ rateLimits: false });
    const bearer = await r.bearer();
    r.emu.failNext({ path: "/v1/api/tickle", kind: "html" });
    const html = await r.api("/tickle", bearer);
    expect(html.status).toBe(503);
    expect(html.headers.get("content-type")).toBe("text/html");
    r.emu.failNext({ path: "/v1/api/tickle", kind: "html", status: 502 });
    expect((await r.api("/tickle", bearer)).status).toBe(502);
    r.emu.failNext({ path: "/v1/api/tickle", kind: "invalid-json" });
    const bad = await r.api("/tickle", bearer);
    expect(bad.status).toBe(200);
    await expect(bad.json()).rejects.toThrow(SyntaxError);
  });

  it("reset: the fetch handler rejects with a TypeError, like fetch on ECONNRESET", async () => {
    const r = await rig();
    r.emu.failNext({ path: "/__emulator/ip", kind: "reset" });
    const err = await r.emu.fetch(`${BASE}/__emulator/ip`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as TypeError & { cause: { code: string } }).cause.code).toBe("ECONNRESET");
    expect(await (await r.emu.fetch(`${BASE}/__emulator/ip`)).text()).toBe("203.0.113.10");
    expect(r.emu.requests.map((e) => e.status)).toEqual([0, 200]);
  });

  it("hang: no answer until the caller's signal aborts; reset() releases hung requests", async () => {
    const r = await rig();
    r.emu.failNext({ path: "/oauth2/api/v1/token", kind: "hang", count: 2 });
    const controller = new AbortController();
    let settled = false;
    const pending = r.emu
      .fetch(`${BASE}/oauth2/api/v1/token`, {
        method: "POST",
        body: "",
        headers: { "user-agent": UA },
        signal: controller.signal,
      })
      .finally(() => {
        settled = true;
      });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBe(false);
    controller.abort(new DOMException("timed out", "TimeoutError"));
    await expect(pending).rejects.toMatchObject({ name: "TimeoutError" });

    const orphan = r.emu.fetch(`${BASE}/oauth2/api/v1/token`, {
      method: "POST",
      body: "",
      headers: { "user-agent": UA },
    });
    r.emu.reset();
    await expect(orphan).rejects.toThrow(TypeError);
  });

  it("delayMs delays a fault; latencyMs delays every request", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const r = await rig({ latencyMs: 100 });
    let answered = false;
    const p = r.emu.fetch(`${BASE}/__emulator/ip`).then((res) => {
      answered = true;
      return res;
    });
    await vi.advanceTimersByTimeAsync(99);
    expect(answered).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((await p).status).toBe(200);

    r.emu.failNext({ path: "/__emulator/ip", status: 503, delayMs: 10_000 });
    answered = false;
    const q = r.emu.fetch(`${BASE}/__emulator/ip`).then((res) => {
      answered = true;
      return res;
    });
    await vi.advanceTimersByTimeAsync(10_099);
    expect(answered).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect((await q).status).toBe(503);
  });

  it("rejects bad specs, and reset() disarms pending faults", async () => {
    const r = await rig();
    expect(() => r.emu.failNext({ path: "/x", kind: "explode" as never })).toThrow(TypeError);
    expect(() => r.emu.failNext({ path: "/x", count: 0 })).toThrow(TypeError);
    r.emu.failNext({ path: "/__emulator/ip", status: 500 });
    r.emu.reset();
    expect((await r.emu.fetch(`${BASE}/__emulator/ip`)).status).toBe(200);
  });
});
