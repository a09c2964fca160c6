// The KV mode with OAuth 1.0a (IBKR_OAUTH1_*): the cron tick computes the live session token, the proxy
// signs every request HMAC-SHA256 with it through the core's mechanism, and a dead LST heals once.
import { kvStore } from "@ibauth/cloudflare";
import { parseSessionRecord } from "@ibauth/core";
import { describe, expect, it } from "vitest";
import { type Harness, harness, leakSurface, oauth1Credentials, oauth1Env } from "./support";

const LST = "POST /v1/api/oauth/live_session_token";
const INIT = "POST /v1/api/iserver/auth/ssodh/init";
const TICKLE = "POST /v1/api/tickle";
const OAUTH2_TOKEN = "POST /oauth2/api/v1/token";

async function oauth1Harness(env: NonNullable<Parameters<typeof harness>[0]>["env"] = {}) {
  const creds = await oauth1Credentials();
  const h = await harness({
    env: { ...oauth1Env(creds.client), ...env },
    emulator: { oauth1Consumers: [creds.consumer] },
  });
  return { h, creds };
}

/** The session record as the Worker stored it, opened with IBAUTH_SESSION_KEY. */
async function storedRecord(h: Harness) {
  const put = h.kv.puts.find((p) => p.value.startsWith("ibauth-aesgcm-v1:"));
  if (!put) throw new Error("no sealed session record was written");
  const store = kvStore(h.kv.kv, { key: put.key, encryptionKey: h.env.IBAUTH_SESSION_KEY });
  return parseSessionRecord(await store.get());
}

const hexOf = (base64: string) =>
  [...atob(base64)].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");

describe("OAuth 1.0a in the KV mode", () => {
  it("the cron tick logs in with one LST; a proxied GET with a query string is signed HMAC-SHA256 and accepted", async () => {
    const { h } = await oauth1Harness();
    const upstream: string[] = [];
    const worker = h.another({
      fetch: (input, init) => {
        const request = new Request(input, init);
        if (new URL(request.url).pathname === "/v1/api/iserver/accounts")
          upstream.push(request.headers.get("authorization") ?? "");
        return h.emu.fetch(input, init);
      },
    });
    await h.tick(worker);
    expect(h.emu.counts()[LST]).toBe(1);
    expect(h.emu.counts()[INIT]).toBe(1);
    expect(h.emu.counts()[OAUTH2_TOKEN]).toBeUndefined();

    for (const query of ["?b=2&a=x%20y", "?conids=265598,8314&fields=31"]) {
      const res = await h.api(`/v1/api/iserver/accounts${query}`, {}, worker);
      expect(res.status).toBe(200);
    }
    expect(upstream).toHaveLength(2);
    for (const authorization of upstream) {
      expect(authorization).toMatch(/^OAuth realm="limited_poa", /);
      expect(authorization).toContain('oauth_signature_method="HMAC-SHA256"');
    }
    // a new nonce per request (the emulator refuses a reused one)
    expect(upstream[0]).not.toBe(upstream[1]);
    const { status, body } = await h.health();
    expect(status).toBe(200);
    expect(body.state).toBe("connected");
    expect(body.session.ip).toBeUndefined();
  });

  it("expire-lst: 20 concurrent callers meeting the dead LST cause exactly one new LST, and all get 200", async () => {
    const { h } = await oauth1Harness();
    await h.tick();
    h.emu.advance(60_000);
    h.emu.expireLst();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => h.api("/v1/api/iserver/accounts?x=1").then((r) => r.status)),
    );
    expect(results).toEqual(Array(20).fill(200));
    expect(h.emu.counts()[LST]).toBe(2);
    expect(h.emu.counts()[INIT]).toBe(2);
  });

  it("a 401 on a fresh LST is not reported as an IP mismatch: an LST claims no IP", async () => {
    const { h } = await oauth1Harness();
    await h.tick();
    h.emu.advance(60_000);
    // the request is refused, the heal's tickle too (a new LST), and the replay with the new LST again
    h.emu.failNext({ path: "/v1/api/iserver/accounts", status: 401, count: 2 });
    h.emu.failNext({ path: "/v1/api/tickle", status: 401 });
    expect((await h.api("/v1/api/iserver/accounts")).status).toBe(401);
    expect(h.emu.counts()[LST]).toBe(2);
    expect((await h.health()).body.ipMismatch).toBeNull();
    expect(h.logs.some((line) => line.includes('ipMismatch":true'))).toBe(false);
  });

  it("the cron tick keeps the session alive with tickles and replaces a dead LST", async () => {
    const { h } = await oauth1Harness();
    await h.tick();
    for (let i = 0; i < 3; i++) {
      h.emu.advance(60_000);
      await h.tick();
    }
    expect(h.emu.counts()[LST]).toBe(1);
    expect(h.emu.counts()[TICKLE]).toBeGreaterThanOrEqual(3);
    h.emu.advance(60_000);
    h.emu.expireLst();
    await h.tick();
    expect(h.emu.counts()[LST]).toBe(2);
    h.emu.advance(60_000);
    expect((await h.api("/v1/api/portfolio/accounts")).status).toBe(200);
    expect(h.emu.counts()[LST]).toBe(2);
  });

  it("replaces the LST before IBKR's stated expiry: the expiry travels in the KV record between isolates", async () => {
    const creds = await oauth1Credentials();
    // no daily reset and a 48 h session cap: only the LST's own 24 h can cause a new one
    const h = await harness({
      env: oauth1Env(creds.client),
      emulator: { oauth1Consumers: [creds.consumer], maxSessionMs: 172_800_000 },
    });
    await h.tick();
    for (let minutes = 5; minutes <= 24 * 60; minutes += 5) {
      h.emu.advance(5 * 60_000);
      await h.tick(minutes % 60 === 0 ? h.another() : h.worker); // a fresh isolate every hour
    }
    expect(h.emu.counts()[LST]).toBe(2);
    expect(h.logs.some((line) => line.includes("the session key expires"))).toBe(true);
    expect((await h.api("/v1/api/iserver/accounts")).status).toBe(200);
  }, 120_000);

  it("no secret reaches /health, a log line, a KV key or a KV value; the stored LST is encrypted", async () => {
    const { h, creds } = await oauth1Harness();
    await h.tick();
    expect((await h.api("/v1/api/iserver/accounts?x=1")).status).toBe(200);
    h.emu.advance(60_000);
    h.emu.expireLst();
    expect((await h.api("/v1/api/iserver/accounts")).status).toBe(200);
    const health = await (await h.call("/health")).text();

    const lst = (await storedRecord(h))?.bearer?.token;
    expect(lst).toMatch(/^[A-Za-z0-9+/]{20,}={0,2}$/);
    const pemLine = (pem: string) => pem.split("\n")[2] ?? "?";
    const secrets = {
      accessToken: creds.client.accessToken,
      encryptedSecret: creds.client.accessTokenSecret.slice(0, 40),
      decryptedSecret: creds.consumer.accessTokenSecret,
      decryptedSecretHex: hexOf(creds.consumer.accessTokenSecret),
      lst: lst as string,
      lstHex: hexOf(lst as string),
      signatureKey: pemLine(creds.client.signatureKey),
      encryptionKey: pemLine(creds.client.encryptionKey),
    };
    const surface = leakSurface(h, [health]);
    expect(h.logs.length).toBeGreaterThan(5);
    for (const [name, secret] of Object.entries(secrets)) expect(surface.includes(secret), name).toBe(false);
  });

  it("mixed OAuth 2.0 and OAuth 1.0a settings: /health names each OAuth 2.0 one, nothing is sent", async () => {
    const { h, creds } = await oauth1Harness({ IBKR_CLIENT_ID: "canary-client-x", IBKR_PRIVATE_KEY: "x" });
    const { status, body } = await h.health();
    expect(status).toBe(503);
    expect(body.config.problems.map((p) => p.setting).sort()).toEqual(["IBKR_CLIENT_ID", "IBKR_PRIVATE_KEY"]);
    expect(body.config.problems[0]?.problem).toMatch(/OAuth 2\.0 setting.*IBKR_OAUTH1_.*keep one mode/);
    await h.tick();
    expect(h.emu.requests).toEqual([]);
    expect(JSON.stringify(body)).not.toContain(creds.client.accessToken);
  });

  it("missing, unreadable and invalid OAuth 1.0a settings are each named, without their values", async () => {
    const missing = await oauth1Harness({
      IBKR_OAUTH1_DH_PRIME: undefined,
      IBKR_OAUTH1_ENCRYPTION_KEY: undefined,
      IBKR_OAUTH1_SIGNATURE_KEY: undefined,
      IBKR_OAUTH1_SIGNATURE_KEY_FILE: "/etc/ibkr/signature.pem",
    } as Record<string, string | undefined>);
    expect((await missing.h.health()).body.config.problems).toEqual([
      { setting: "IBKR_OAUTH1_ENCRYPTION_KEY", problem: "missing" },
      { setting: "IBKR_OAUTH1_DH_PRIME", problem: "missing" },
    ]);
    const files = await oauth1Harness({
      IBKR_OAUTH1_SIGNATURE_KEY: undefined,
      IBKR_OAUTH1_SIGNATURE_KEY_FILE: "/etc/ibkr/signature.pem",
    } as Record<string, string | undefined>);
    expect((await files.h.health()).body.config.problems).toEqual([
      { setting: "IBKR_OAUTH1_SIGNATURE_KEY_FILE", problem: expect.stringMatching(/cannot read files/) },
    ]);

    const { h, creds } = await oauth1Harness({
      IBKR_OAUTH1_SIGNATURE_KEY: `not-a-pem-${creds0()}`,
      IBKR_OAUTH1_ACCESS_TOKEN_SECRET: "not base64 !!",
      IBKR_OAUTH1_DH_PRIME: "xyz",
    });
    const { status, body } = await h.health();
    expect(status).toBe(503);
    expect(body.config.problems.map((p) => p.setting).sort()).toEqual([
      "IBKR_OAUTH1_ACCESS_TOKEN_SECRET",
      "IBKR_OAUTH1_DH_PRIME",
      "IBKR_OAUTH1_SIGNATURE_KEY",
    ]);
    const text = JSON.stringify(body);
    for (const value of [creds0(), "not base64 !!", creds.client.accessToken])
      expect(text).not.toContain(value);
  });
});

/** A canary inside an invalid value: the problem must not quote it. */
const creds0 = () => "canary-pem-body-4e1f";
