import { startEmulator } from "@ibauth/emulator/node";
import { importPKCS8, SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { CLIENT_ID, clientKeys, IP, UA, USERNAME } from "./helpers.js";

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(extra: Record<string, unknown> = {}) {
  const keys = await clientKeys();
  const srv = await startEmulator({
    clients: [{ clientId: CLIENT_ID, keys: { main: keys.publicKeyPem }, credentials: [USERNAME] }],
    egressIp: IP,
    ...extra,
  });
  close = srv.close;
  return { srv, key: await importPKCS8(keys.privateKeyPem, "RS256") };
}

describe("over real HTTP (startEmulator on 127.0.0.1)", () => {
  it("binds loopback and runs the login with Node's fetch", async () => {
    const { srv, key } = await serve();
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ip = await (await fetch(`${srv.url}/__emulator/ip`)).text();
    expect(ip).toBe(IP);

    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({
      iss: CLIENT_ID,
      sub: CLIENT_ID,
      aud: "/token",
      iat: now,
      exp: now + 600,
    })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: "main" })
      .sign(key);
    const tokenRes = await fetch(`${srv.url}/oauth2/api/v1/token`, {
      method: "POST",
      headers: { "user-agent": "python/3.11", "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: assertion,
        scope: "sso-sessions.write",
      }),
    });
    expect(tokenRes.status).toBe(200);
    const { access_token } = (await tokenRes.json()) as { access_token: string };
    const ssoJwt = await new SignJWT({ iss: CLIENT_ID, credential: USERNAME, ip, iat: now, exp: now + 600 })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: "main" })
      .sign(key);
    const ssoRes = await fetch(`${srv.url}/gw/api/v1/sso-sessions`, {
      method: "POST",
      headers: { "user-agent": UA, authorization: `Bearer  ${access_token}`, "content-type": "text/plain" },
      body: ssoJwt,
    });
    expect(ssoRes.status).toBe(200);
    const { access_token: bearer } = (await ssoRes.json()) as { access_token: string };
    const init = await fetch(`${srv.url}/v1/api/iserver/auth/ssodh/init?publish=true&compete=true`, {
      headers: { "user-agent": UA, authorization: `Bearer ${bearer}` },
    });
    expect(await init.json()).toMatchObject({ authenticated: true });
    expect(srv.emulator.counts()).toMatchObject({ "GET /v1/api/iserver/auth/ssodh/init": 1 });
  });
});

describe("faults and edge rules over real HTTP", () => {
  it("reset destroys the socket: Node's fetch fails with a TypeError", async () => {
    const { srv } = await serve();
    srv.emulator.failNext({ path: "/__emulator/ip", kind: "reset" });
    await expect(fetch(`${srv.url}/__emulator/ip`)).rejects.toThrow(TypeError);
    expect(await (await fetch(`${srv.url}/__emulator/ip`)).text()).toBe(IP);
  });

  it("a streamed POST (chunked, no Content-Length) gets 411; the same body as a string passes the edge", async () => {
    const { srv } = await serve();
    const body = () =>
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("{}"));
          c.close();
        },
      });
    const init = { method: "POST", headers: { "user-agent": UA }, duplex: "half" } as RequestInit;
    const chunked = await fetch(`${srv.url}/v1/api/tickle`, { ...init, body: body() });
    expect(chunked.status).toBe(411);
    const sized = await fetch(`${srv.url}/v1/api/tickle`, { ...init, body: "{}" });
    expect(sized.status).toBe(401); // past the edge, stopped by the missing bearer
  });

  it("a hung request is released when the client aborts, and close() ends the server", async () => {
    const { srv } = await serve();
    srv.emulator.failNext({ path: "/v1/api/tickle", kind: "hang" });
    const res = fetch(`${srv.url}/v1/api/tickle`, {
      headers: { "user-agent": UA },
      signal: AbortSignal.timeout(200),
    });
    await expect(res).rejects.toMatchObject({ name: "TimeoutError" });
    expect(srv.emulator.requests.at(-1)).toMatchObject({ path: "/v1/api/tickle", status: 0 });
  });

  it("the HTTP control path and state endpoint work over the wire", async () => {
    const { srv } = await serve();
    const res = await fetch(`${srv.url}/__emulator/control`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: "setEgressIp", ip: "198.51.100.3" }),
    });
    expect(await res.json()).toEqual({ ok: true });
    expect(await (await fetch(`${srv.url}/__emulator/ip`)).text()).toBe("198.51.100.3");
    const state = (await (await fetch(`${srv.url}/__emulator/state`)).json()) as { egressIp: string };
    expect(state.egressIp).toBe("198.51.100.3");
  });
});

describe("over HTTPS (startEmulator with tls)", () => {
  it("serves the same handler with the given key and certificate, on 127.0.0.1", async () => {
    // @ts-expect-error: a plain .mjs helper shared with the benchmark, without types
    const { throwawayCa } = await import("../../../test/bench/throwaway-ca.mjs");
    const ca = throwawayCa();
    try {
      const { srv } = await serve({ tls: { key: ca.read("leaf.key"), cert: ca.read("leaf.pem") } });
      expect(srv.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const { get } = await import("node:https");
      const body = await new Promise<string>((resolve, reject) => {
        get(`${srv.url}/__emulator/ip`, { ca: ca.read("ca.pem") }, (res) => {
          let text = "";
          res.on("data", (d) => {
            text += d;
          });
          res.on("end", () => resolve(text));
        }).on("error", reject);
      });
      expect(body).toBe(IP);
    } finally {
      ca.cleanup();
    }
  });
});
