import { request as httpRequest } from "node:http";
import {
  createEmulator,
  type Emulator,
  type EmulatorOptions,
  generateOauth1Credentials,
  type Oauth1Credentials,
  startEmulator,
} from "@ibauth/emulator/node";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { testClock, UA } from "./helpers.js";
import { type SignOptions, TestOauth1Client } from "./oauth1-signer.js";

const BASE = "http://127.0.0.1:1";
const LST_URL = `${BASE}/v1/api/oauth/live_session_token`;
let creds: Oauth1Credentials;
beforeAll(async () => {
  creds = await generateOauth1Credentials({ consumerKey: "CANARYCK9" });
});

function setup(options: Partial<EmulatorOptions> = {}) {
  const clock = testClock();
  const emu = createEmulator({ oauth1Consumers: [creds.consumer], now: clock.now, ...options });
  const client = new TestOauth1Client(creds, () => Math.floor(emu.now() / 1000));
  return { emu, client, clock };
}

async function lst(emu: Emulator, client: TestOauth1Client, o: SignOptions = {}) {
  const { authorization, finish } = client.lstRequest(LST_URL, o);
  const res = await emu.fetch(LST_URL, { method: "POST", headers: { authorization, "user-agent": UA } });
  const body = await res.json();
  return { res, body, lst: res.status === 200 ? finish(body) : undefined };
}

function signed(
  emu: Emulator,
  client: TestOauth1Client,
  method: string,
  path: string,
  o: SignOptions = {},
  body?: string,
) {
  const url = `${BASE}/v1/api${path}`;
  return emu.fetch(url, {
    method,
    headers: { authorization: client.sign(method, url, o), "user-agent": UA },
    ...(body === undefined ? {} : { body }),
  });
}

describe("OAuth 1.0a: live session token", () => {
  it("answers the DH response, the LST signature and its expiry; the LST then signs requests", async () => {
    const { emu, client } = setup();
    const { res, body, lst: token } = await lst(emu, client);
    expect(res.status).toBe(200);
    expect(Object.keys(body).sort()).toEqual([
      "diffie_hellman_response",
      "live_session_token_expiration",
      "live_session_token_signature",
    ]);
    expect(body.live_session_token_expiration).toBe(emu.now() + 86_400_000);
    expect(token?.length).toBe(20);
    // RFC form, with the query pairs signed
    const init = await signed(
      emu,
      client,
      "POST",
      "/iserver/auth/ssodh/init?publish=true&compete=true",
      {},
      "",
    );
    expect(init.status).toBe(200);
    expect((await init.json()).authenticated).toBe(true);
    expect((await signed(emu, client, "GET", "/iserver/accounts")).status).toBe(200);
  });

  it("accepts ibind's form (bare URL, query unsigned) for the LST and for requests", async () => {
    const { emu, client } = setup();
    expect((await lst(emu, client, { form: "ibind" })).res.status).toBe(200);
    const res = await signed(
      emu,
      client,
      "POST",
      "/iserver/auth/ssodh/init?publish=true&compete=true",
      { form: "ibind" },
      "",
    );
    expect(res.status).toBe(200);
  });

  it("refuses a bad RSA signature, the HMAC method, a wrong realm or token, and a bad DH challenge", async () => {
    const { emu, client } = setup();
    const other = await generateOauth1Credentials({ consumerKey: "CANARYCK9" });
    const foreign = new TestOauth1Client(
      { consumer: creds.consumer, client: { ...creds.client, signatureKey: other.client.signatureKey } },
      client.nowSec,
    );
    const cases: [TestOauth1Client, SignOptions, string][] = [
      [foreign, {}, "does not verify"],
      [client, { method: "HMAC-SHA256" }, "must be RSA-SHA256"],
      [client, { realm: "test_realm" }, 'realm must be "limited_poa"'],
      [client, { token: "0123abcd" }, "oauth_token"],
      [client, { signedUrl: "http://127.0.0.1:2/v1/api/oauth/live_session_token" }, "does not verify"],
    ];
    for (const [c, o, message] of cases) {
      const { res, body } = await lst(emu, c, o);
      expect(res.status).toBe(401);
      expect(body.error).toContain(message);
    }
    expect(emu.state().sessions).toHaveLength(0);
  });

  it("refuses a reused nonce and a timestamp outside the window", async () => {
    const { emu, client } = setup();
    await lst(emu, client);
    expect((await signed(emu, client, "GET", "/tickle", { nonce: "n1" })).status).toBe(200);
    const again = await signed(emu, client, "GET", "/tickle", { nonce: "n1" });
    expect(again.status).toBe(401);
    expect((await again.json()).error).toContain("oauth_nonce was already used");
    for (const timestamp of [client.nowSec() - 120, client.nowSec() + 120]) {
      const res = await signed(emu, client, "GET", "/tickle", { timestamp });
      expect(res.status).toBe(401);
      expect((await res.json()).error).toContain("oauth_timestamp");
    }
    const ms = await signed(emu, client, "GET", "/tickle", { timestamp: emu.now() });
    expect((await ms.json()).error).toContain("Unix seconds");
  });

  it("refuses a signature over another path, method or query, and a request without signature", async () => {
    const { emu, client } = setup();
    await lst(emu, client);
    const url = `${BASE}/v1/api/tickle`;
    const wrongPath = await emu.fetch(url, {
      headers: { authorization: client.sign("GET", `${BASE}/v1/api/logout`), "user-agent": UA },
    });
    expect(wrongPath.status).toBe(401);
    const wrongMethod = await emu.fetch(url, {
      method: "POST",
      body: "",
      headers: { authorization: client.sign("GET", url), "user-agent": UA },
    });
    expect(wrongMethod.status).toBe(401);
    // the RFC form binds the query: a changed query is refused
    const q = await emu.fetch(`${url}?a=2`, {
      headers: { authorization: client.sign("GET", `${url}?a=1`), "user-agent": UA },
    });
    expect(q.status).toBe(401);
    expect((await emu.fetch(url, { headers: { "user-agent": UA } })).status).toBe(401);
  });

  it("expire-lst: requests with the old LST get 401, a new LST opens a new session", async () => {
    const { emu, client } = setup();
    await lst(emu, client);
    expect((await signed(emu, client, "GET", "/tickle")).status).toBe(200);
    emu.control({ action: "expireLst" });
    const res = await signed(emu, client, "GET", "/tickle");
    expect(res.status).toBe(401);
    expect((await res.json()).error).toContain("expired");
    await lst(emu, client);
    expect((await signed(emu, client, "POST", "/iserver/auth/status", {}, "")).status).toBe(200);
    expect(emu.state().sessions.filter((s) => !s.ended)).toHaveLength(1);
  });

  it("honours the 24 h LST lifetime on the emulator's clock", async () => {
    const { emu, client } = setup({ dailyReset: false, maxSessionMs: 48 * 3_600_000 });
    await lst(emu, client);
    for (let h = 0; h < 24; h += 0.08) {
      emu.advance(0.08 * 3_600_000); // tickle every ~5 min keeps the session
      if (h < 23.9) expect((await signed(emu, client, "GET", "/tickle")).status).toBe(200);
    }
    expect((await signed(emu, client, "GET", "/tickle")).status).toBe(401);
  });

  it("lstLifetimeSec: a shorter LST lifetime, announced in live_session_token_expiration and enforced", async () => {
    const { emu, client } = setup({ lstLifetimeSec: 3600, idleTimeoutMs: 7_200_000 });
    const { body } = await lst(emu, client);
    expect(body.live_session_token_expiration).toBe(emu.now() + 3_600_000);
    emu.advance(3_599_000);
    expect((await signed(emu, client, "GET", "/tickle")).status).toBe(200);
    emu.advance(1000);
    const res = await signed(emu, client, "GET", "/tickle");
    expect(res.status).toBe(401);
    expect((await res.json()).error).toContain("expired");
  });

  it("keeps every secret out of the state snapshot and the request log", async () => {
    const { emu, client } = setup();
    const { body } = await lst(emu, client);
    await signed(emu, client, "GET", "/tickle");
    const seen = JSON.stringify([emu.state(), emu.requests]);
    const secrets = [
      creds.consumer.accessToken,
      creds.consumer.accessTokenSecret,
      creds.client.accessTokenSecret,
      client.lst?.toString("base64"),
      client.lst?.toString("hex"),
      body.live_session_token_signature,
    ];
    for (const s of secrets) expect(seen).not.toContain(s);
  });
});

describe("OAuth 1.0a over real HTTP", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it("starts with only oauth1Consumers, and verifies a client signing its local URL while sending Host: api.ibkr.com", async () => {
    const srv = await startEmulator({ oauth1Consumers: [creds.consumer] });
    close = srv.close;
    const client = new TestOauth1Client(creds, () => Math.floor(Date.now() / 1000));
    const send = (path: string, authorization: string, method = "POST") =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(`${srv.url}${path}`, {
          method,
          headers: { host: "api.ibkr.com", authorization, "user-agent": "ibind", "content-length": "0" },
        });
        req.on("response", (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on("error", reject);
        req.end();
      });
    const lstPath = "/v1/api/oauth/live_session_token";
    const { authorization, finish } = client.lstRequest(`${srv.url}${lstPath}`, { form: "ibind" });
    const res = await send(lstPath, authorization);
    expect(res.status).toBe(200);
    finish(JSON.parse(res.body));
    const tickle = await send(
      "/v1/api/tickle",
      client.sign("GET", `${srv.url}/v1/api/tickle`, { form: "ibind" }),
      "GET",
    );
    expect(tickle.status).toBe(200);
    // and one signing the production host it named in Host
    const viaHost = await send(
      "/v1/api/iserver/auth/status",
      client.sign("POST", "http://api.ibkr.com/v1/api/iserver/auth/status"),
    );
    expect(viaHost.status).toBe(200);
  });

  it("still refuses to start with neither clients nor consumers", () => {
    expect(() => createEmulator({})).toThrow(/clients or options.oauth1Consumers/);
  });
});
