import { describe, expect, it } from "vitest";
import { BASE, rig, UA } from "./helpers.js";

describe("the edge in front of every path", () => {
  it("403 HTML for an empty or missing User-Agent, on any path", async () => {
    const r = await rig();
    const bearer = await r.bearer();
    const empty = await r.api("/portfolio/accounts", bearer, { headers: { "user-agent": "" } });
    expect(empty.status).toBe(403);
    expect(empty.headers.get("content-type")).toBe("text/html");
    expect(await empty.text()).toContain("Access Denied");
    const req = new Request(`${BASE}/oauth2/api/v1/token`, {
      method: "POST",
      body: "",
      headers: { "content-length": "0" },
    });
    req.headers.delete("user-agent");
    expect((await r.emu.fetch(req)).status).toBe(403);
    expect((await r.api("/tickle", bearer, { headers: { "user-agent": "python/3.11" } })).status).toBe(200);
  });

  it("411 for a POST without Content-Length: a streamed body, or a Request carrying no such header", async () => {
    const r = await rig();
    const bearer = await r.bearer();
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("{}"));
        c.close();
      },
    });
    const streamed = await r.api("/tickle", bearer, {
      method: "POST",
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(411);
    expect(streamed.headers.get("content-type")).toBe("text/html");
    const headers = { authorization: `Bearer ${bearer}`, "user-agent": UA };
    const bare = new Request(`${BASE}/v1/api/tickle`, { method: "POST", body: "{}", headers });
    expect((await r.emu.fetch(bare)).status).toBe(411);
    const withLength = new Request(`${BASE}/v1/api/tickle`, {
      method: "POST",
      body: "{}",
      headers: { ...headers, "content-length": "2" },
    });
    expect((await r.emu.fetch(withLength)).status).toBe(200);
  });

  it("fetch-style calls get the Content-Length fetch would send: string bodies and empty POSTs pass", async () => {
    const r = await rig({ rateLimits: false });
    const bearer = await r.bearer();
    expect((await r.api("/tickle", bearer, { method: "POST" })).status).toBe(200);
    expect((await r.api("/tickle", bearer, { method: "POST", body: "" })).status).toBe(200);
  });

  it("404 for unknown paths, in the family's error shape", async () => {
    const r = await rig();
    const bearer = await r.bearer();
    expect(await (await r.api("/nope", bearer)).json()).toEqual({ error: "Not Found", statusCode: 404 });
    const gw = await r.emu.fetch(`${BASE}/gw/api/v1/nope`, { headers: { "user-agent": UA } });
    expect(gw.status).toBe(404);
    expect(gw.headers.get("content-type")).toBe("application/problem+json");
  });
});

describe("/v1/api guard and brokerage rules", () => {
  it("401 {error, statusCode} without a bearer or with an unknown one", async () => {
    const r = await rig();
    const none = await r.emu.fetch(`${BASE}/v1/api/tickle`, { headers: { "user-agent": UA } });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: "Unauthorized", statusCode: 401 });
    expect((await r.api("/tickle", "made-up")).status).toBe(401);
  });

  it("401 after the egress IP changes (setEgressIp); a bearer for the new IP works", async () => {
    const r = await rig({ rateLimits: false });
    const bearer = await r.bearer();
    r.emu.setEgressIp("198.51.100.20");
    expect((await r.api("/tickle", bearer)).status).toBe(401);
    const fresh = await r.bearer({ ip: "198.51.100.20" });
    expect((await r.api("/tickle", fresh)).status).toBe(200);
  });

  it("read-only session: /portfolio works, /iserver/* is 400 no bridge until ssodh/init", async () => {
    const r = await rig();
    const bearer = await r.bearer();
    expect((await r.api("/portfolio/accounts", bearer)).status).toBe(200);
    const before = await r.api("/iserver/accounts", bearer);
    expect(before.status).toBe(400);
    expect(await before.json()).toEqual({ error: "Bad Request: no bridge", statusCode: 400 });
    const status = await r.api("/iserver/auth/status", bearer, { method: "POST" });
    expect(await status.json()).toMatchObject({ authenticated: false, competing: false, connected: true });
    await r.api("/iserver/auth/ssodh/init", bearer, {
      method: "POST",
      body: '{"publish":true,"compete":true}',
    });
    expect((await r.api("/iserver/accounts", bearer)).status).toBe(200);
  });

  it("ssodh/init without publish true is 500; flags work as JSON body or query, by POST or GET", async () => {
    const r = await rig();
    const bearer = await r.bearer();
    const noPublish = await r.api("/iserver/auth/ssodh/init", bearer, {
      method: "POST",
      body: '{"publish":false,"compete":true}',
    });
    expect(noPublish.status).toBe(500);
    expect((await noPublish.json()) as object).toHaveProperty("error");
    expect((await r.api("/iserver/auth/ssodh/init", bearer, { method: "POST", body: "{}" })).status).toBe(
      500,
    );
    const query = await r.api("/iserver/auth/ssodh/init?publish=true&compete=true", bearer);
    expect(await query.json()).toMatchObject({ authenticated: true, established: true });
  });

  it("/portfolio/{id}/summary is 401 before the /portfolio/accounts pre-flight", async () => {
    const r = await rig();
    const bearer = await r.bearer();
    const accounts = (await (await r.api("/iserver/accounts", await r.brokerage())).json()) as {
      accounts: string[];
    };
    const id = accounts.accounts[0];
    expect((await r.api(`/portfolio/${id}/summary`, bearer)).status).toBe(401);
    await r.api("/portfolio/subaccounts", bearer);
    expect((await r.api(`/portfolio/${id}/summary`, bearer)).status).toBe(200);
    expect((await r.api("/portfolio/U0000000/summary", bearer)).status).toBe(400);
  });

  it("uses the accounts configured for a username", async () => {
    const keysRig = await rig();
    const r = await rig({
      clients: [
        {
          clientId: "demo-client",
          keys: { main: keysRig.keys.publicKeyPem },
          credentials: ["demouser"],
          accounts: { demouser: ["DU1111111", "DU2222222"] },
        },
      ],
    });
    const body = (await (await r.api("/portfolio/accounts", await r.bearer())).json()) as { id: string }[];
    expect(body.map((a) => a.id)).toEqual(["DU1111111", "DU2222222"]);
  });

  it("405 for a method a route does not take; logout is POST", async () => {
    const r = await rig();
    const bearer = await r.bearer();
    expect((await r.api("/logout", bearer)).status).toBe(405);
  });

  it("hmds answers no bridge in tickle until /hmds/auth/init", async () => {
    const r = await rig({ rateLimits: false });
    const bearer = await r.brokerage();
    expect(((await (await r.api("/tickle", bearer)).json()) as { hmds: unknown }).hmds).toEqual({
      error: "no bridge",
    });
    expect(await (await r.api("/hmds/auth/init", bearer, { method: "POST" })).json()).toEqual({
      authenticated: true,
    });
    const after = (await (await r.api("/tickle", bearer)).json()) as { hmds: unknown };
    expect(after.hmds).toEqual({ authStatus: { authenticated: true, connected: true } });
  });
});
