import { describe, expect, it } from "vitest";
import { BASE, CLIENT_ID, IP, rig, testClock, UA, USERNAME } from "./helpers.js";

const control = (r: Awaited<ReturnType<typeof rig>>, command: unknown) =>
  r.emu.fetch(`${BASE}/__emulator/control`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(command),
  });

describe("HTTP control path", () => {
  it("runs every action over POST /__emulator/control", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now, rateLimits: false });
    const at = await r.accessToken();
    let bearer = await r.brokerage();
    const ok = async (command: unknown) => {
      const res = await control(r, command);
      expect(res.status).toBe(200);
      return res.json();
    };

    expect(await ok({ action: "dropBrokerageSession" })).toEqual({ ok: true });
    expect((await r.api("/iserver/accounts", bearer)).status).toBe(400);
    await r.api("/iserver/auth/ssodh/init?publish=true", bearer);

    await ok({ action: "startCompetingSession", username: USERNAME });
    expect(await (await r.api("/iserver/auth/status", bearer, { method: "POST" })).json()).toMatchObject({
      competing: true,
    });

    await ok({ action: "failNext", path: "/v1/api/tickle", status: 503, count: 1 });
    expect((await r.api("/tickle", bearer)).status).toBe(503);
    await ok({ action: "failNext", pathRegex: "^/v1/api/port", status: 502 });
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(502);

    await ok({ action: "advance", ms: 1000 });
    expect(r.emu.now()).toBe(clock.now() + 1000);

    await ok({ action: "expireBearers" });
    expect((await r.api("/tickle", bearer)).status).toBe(401);
    bearer = await r.bearer();
    await ok({ action: "triggerDailyReset" });
    expect((await r.api("/tickle", bearer)).status).toBe(401);

    await ok({ action: "expireAccessTokens" });
    expect((await r.sso(await r.ssoJwt(), at)).status).toBe(401);

    await ok({ action: "setEgressIp", ip: "198.51.100.1" });
    expect(await (await r.emu.fetch(`${BASE}/__emulator/ip`)).text()).toBe("198.51.100.1");

    const counts = (await ok({ action: "counts" })) as Record<string, number>;
    expect(counts["GET /v1/api/tickle"]).toBe(3);
    expect(((await ok({ action: "state" })) as { egressIp: string }).egressIp).toBe("198.51.100.1");

    await ok({ action: "reset" });
    expect(r.emu.counts()).toEqual({});
    expect(await (await r.emu.fetch(`${BASE}/__emulator/ip`)).text()).toBe(IP);
  });

  it("400 with a helpful error for unknown actions, bad arguments, or non-JSON", async () => {
    const r = await rig();
    const unknown = await control(r, { action: "explode" });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toContain("failNext");
    expect((await control(r, { action: "advance" })).status).toBe(400);
    expect((await control(r, { action: "advance", ms: -5 })).status).toBe(400);
    expect((await control(r, { action: "setEgressIp" })).status).toBe(400);
    const notJson = await r.emu.fetch(`${BASE}/__emulator/control`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
  });

  it("control requests are not logged, counted, paced or faulted", async () => {
    const r = await rig();
    r.emu.failNext({ path: "*", status: 500, count: 5 });
    expect((await control(r, { action: "counts" })).status).toBe(200);
    expect(r.emu.requests).toEqual([]);
  });
});

describe("request log, counts and state: no secrets", () => {
  it("logs {at, method, path, status, ip} only, and counts by 'METHOD /path'", async () => {
    const clock = testClock();
    const r = await rig({ now: clock.now });
    const bearer = await r.brokerage();
    await r.api("/tickle?oauth_token=secret-query", bearer);
    const log = r.emu.requests;
    expect(log.map((e) => `${e.method} ${e.path} ${e.status}`)).toEqual([
      "POST /oauth2/api/v1/token 200",
      "POST /gw/api/v1/sso-sessions 200",
      "POST /v1/api/iserver/auth/ssodh/init 200",
      "GET /v1/api/tickle 200",
    ]);
    for (const e of log) expect(Object.keys(e).sort()).toEqual(["at", "ip", "method", "path", "status"]);
    expect(log[0]).toMatchObject({ at: clock.now(), ip: IP });
    expect(r.emu.counts()).toEqual({
      "POST /oauth2/api/v1/token": 1,
      "POST /gw/api/v1/sso-sessions": 1,
      "POST /v1/api/iserver/auth/ssodh/init": 1,
      "GET /v1/api/tickle": 1,
    });
  });

  it("the log and GET /__emulator/state hold no token, bearer, session id, username, key or query", async () => {
    const r = await rig({ rateLimits: false });
    const accessToken = await r.accessToken();
    const bearer = await r.brokerage();
    const { session } = (await (await r.api("/tickle?oauth_token=canary-query", bearer)).json()) as {
      session: string;
    };
    const stateRes = await r.emu.fetch(`${BASE}/__emulator/state`);
    const state = (await stateRes.json()) as {
      sessions: { user: string; brokerage: string; clientId: string }[];
    };
    expect(state.sessions[0]).toMatchObject({ user: "user-1", brokerage: "held", clientId: CLIENT_ID });
    const dump = JSON.stringify([state, r.emu.requests, r.emu.counts(), r.emu.state()]);
    for (const secret of [
      accessToken,
      bearer,
      session,
      USERNAME,
      "canary-query",
      r.keys.publicKeyPem.slice(30, 60),
      UA,
    ])
      expect(dump).not.toContain(secret);
  });
});

describe("CORS (cors: true)", () => {
  it("answers preflights and adds Access-Control-Allow-* headers", async () => {
    const r = await rig({ cors: true });
    const pre = await r.emu.fetch(`${BASE}/v1/api/tickle`, {
      method: "OPTIONS",
      headers: {
        origin: "http://127.0.0.1:5173",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:5173");
    expect(pre.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    const ip = await r.emu.fetch(`${BASE}/__emulator/ip`, { headers: { origin: "http://127.0.0.1:5173" } });
    expect(ip.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:5173");
    expect(ip.headers.get("access-control-expose-headers")).toContain("retry-after");
  });

  it("off by default: no CORS headers, and OPTIONS is just another request", async () => {
    const r = await rig();
    const pre = await r.emu.fetch(`${BASE}/v1/api/tickle`, {
      method: "OPTIONS",
      headers: { origin: "http://127.0.0.1:5173", "access-control-request-method": "POST", "user-agent": UA },
    });
    expect(pre.status).toBe(401);
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("log size", () => {
  it("keeps the newest maxLogEntries entries while counts stay exact", async () => {
    const r = await rig({ maxLogEntries: 2 });
    for (let i = 0; i < 3; i++)
      await r.emu.fetch(`${BASE}/__emulator/ip`, { headers: { "x-emulator-client-ip": `192.0.2.${i}` } });
    expect(r.emu.requests.map((e) => e.ip)).toEqual(["192.0.2.1", "192.0.2.2"]);
    expect(r.emu.counts()).toEqual({ "GET /__emulator/ip": 3 });
  });
});
