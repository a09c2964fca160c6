// IBAuth in OAuth 1.0a mode against the emulator's strict OAuth 1.0a consumer: the same lifecycle
// (connect, single flight, heal, tick, store, logout) with the live session token as the session key.
import { IBAuth, type IBAuthOAuth1Options, memoryStore } from "@ibauth/core";
import {
  createEmulator,
  type EmulatorOptions,
  generateOauth1Credentials,
  type Oauth1Credentials,
} from "@ibauth/emulator/node";
import { beforeAll, describe, expect, it } from "vitest";
import { ORIGIN, recordingLogger, rejection, thrownBy, virtualClock } from "./fixture";

const LST = "POST /v1/api/oauth/live_session_token";
const INIT = "POST /v1/api/iserver/auth/ssodh/init";

let creds: Oauth1Credentials;
beforeAll(async () => {
  creds = await generateOauth1Credentials({ consumerKey: "CANARYC1A", credential: "canaryuser1a" });
});

function bed(
  auth: Partial<IBAuthOAuth1Options> = {},
  oauth1: Partial<Oauth1Credentials["client"]> = {},
  emulator: Partial<EmulatorOptions> = {},
) {
  const { clock, now, sleep } = virtualClock(Date.UTC(2026, 10, 2, 14, 0, 0));
  const emu = createEmulator({ oauth1Consumers: [creds.consumer], now, ...emulator });
  const logger = recordingLogger();
  const store = memoryStore();
  const options: IBAuthOAuth1Options = {
    oauth1: { ...creds.client, ...oauth1 },
    baseUrl: ORIGIN,
    fetch: emu.fetch,
    now,
    sleep,
    logger,
    store,
    ...auth,
  };
  return { emu, clock, logger, store, options, auth: new IBAuth(options) };
}

describe("OAuth 1.0a session", () => {
  it("connects with one LST request and one ssodh/init, then signs every request (query included)", async () => {
    const { auth, emu } = bed();
    const start = emu.now();
    const status = await Promise.all([auth.connect(), auth.connect()]).then(([s]) => s);
    expect(status.state).toBe("connected");
    // IBKR's stated expiry, 24 h after the LST request (the pacer may have spaced the sends)
    expect(status.liveSessionTokenExpiresAt).toBeGreaterThanOrEqual(start + 86_400_000);
    expect(status.liveSessionTokenExpiresAt).toBeLessThanOrEqual(emu.now() + 86_400_000);
    expect(status.ip).toBeUndefined();
    expect(emu.counts()[LST]).toBe(1);
    expect(emu.counts()[INIT]).toBe(1);
    const res = await auth.fetch("/v1/api/iserver/accounts?x=1&y=a%20b");
    expect(res.status).toBe(200);
    expect((await auth.tick()).action).toBe("tickled");
    expect((await auth.validateSso()).valid).toBe(true);
  });

  it("reads PKCS#1 keys too", async () => {
    const { createPrivateKey } = await import("node:crypto");
    const pkcs1 = (pem: string) => createPrivateKey(pem).export({ type: "pkcs1", format: "pem" }).toString();
    const { auth } = bed(
      {},
      { signatureKey: pkcs1(creds.client.signatureKey), encryptionKey: pkcs1(creds.client.encryptionKey) },
    );
    expect((await auth.connect()).state).toBe("connected");
  });

  it("expire-lst: 50 concurrent callers meeting the expired LST cause exactly one new LST, and all succeed", async () => {
    const { auth, emu } = bed();
    await auth.connect();
    emu.expireLst();
    const results = await Promise.all(
      Array.from({ length: 50 }, () => auth.fetch("/v1/api/iserver/accounts").then((r) => r.status)),
    );
    expect(results.every((s) => s === 200)).toBe(true);
    expect(emu.counts()[LST]).toBe(2);
    expect(emu.counts()[INIT]).toBe(2);
  });

  it("replaces the LST before IBKR's stated expiry (less refreshMarginMs), on tick and on fetch", async () => {
    // no daily reset and a 48 h session cap, so only the LST's own expiry can cause a new one
    const { auth, emu, clock } = bed(
      { refreshMarginMs: 600_000 },
      {},
      { dailyReset: false, maxSessionMs: 172_800_000 },
    );
    const tickEvery = async (until: number) => {
      while (clock.t < until) {
        clock.t += 60_000;
        await auth.tick();
      }
    };
    const first = (await auth.connect()).liveSessionTokenExpiresAt as number;
    await tickEvery(first - 600_000 - 60_000);
    expect(emu.counts()[LST]).toBe(1);
    await tickEvery(first - 600_000 + 1);
    expect(emu.counts()[LST]).toBe(2);
    expect(auth.status().liveSessionTokenExpiresAt).toBeGreaterThan(first);
    const second = auth.status().liveSessionTokenExpiresAt as number;
    clock.t = second - 600_000; // no tick in between: the request itself replaces it
    expect((await auth.fetch("/v1/api/iserver/accounts")).status).toBe(200);
    expect(emu.counts()[LST]).toBe(3);
  }, 60_000);

  it("resumes a stored LST with zero requests and logs out", async () => {
    const first = bed();
    await first.auth.connect();
    const second = new IBAuth({ ...first.options, store: first.store });
    const before = first.emu.requests.length;
    expect((await second.connect()).state).toBe("connected");
    expect(first.emu.requests.length).toBe(before);
    await second.logout();
    expect(await first.store.get()).toBeUndefined();
    expect(second.status().state).toBe("closed");
  });

  it("a wrong realm: ERR_AUTH at the lst step, with what to check", async () => {
    const { auth } = bed({}, { realm: "test_realm" });
    const e = await rejection(auth.connect());
    expect(e.code).toBe("ERR_AUTH");
    expect(e.step).toBe("lst");
    expect(e.hint).toMatch(/realm/);
  });

  it("an access-token secret IBKR did not issue: the 401's hint names the secret, the encryption key and the DH prime", async () => {
    const { constants, createPublicKey, publicEncrypt, randomBytes } = await import("node:crypto");
    // decrypts fine locally, but the signature then covers a prepend IBKR does not know
    const accessTokenSecret = publicEncrypt(
      { key: createPublicKey(creds.client.encryptionKey), padding: constants.RSA_PKCS1_PADDING },
      randomBytes(24),
    ).toString("base64");
    const { auth } = bed({}, { accessTokenSecret });
    const e = await rejection(auth.connect());
    expect(`${e.code} ${e.step} ${e.status}`).toBe("ERR_AUTH lst 401");
    for (const cause of [/accessTokenSecret/, /encryptionKey/, /dhPrime/, /signatureKey/, /consumerKey/])
      expect(e.hint).toMatch(cause);
  });

  it("a signatureKey that is not an RSA private key: ERR_KEY naming signatureKey and the portal, before any request", async () => {
    const { auth, emu } = bed({}, { signatureKey: creds.consumer.signaturePublicKey });
    const e = await rejection(auth.connect());
    expect(e.code).toBe("ERR_KEY");
    expect(e.message).toMatch(/^key: signatureKey: this is a public key, not a private key\. Upload/);
    expect(e.hint).toMatch(/Self-Service Portal/);
    expect(`${e.message} ${e.hint}`).not.toMatch(/privateKey|3072/);
    expect(emu.requests).toHaveLength(0);
  });

  it("a wrong encryption key: ERR_KEY at the lst step, before any request", async () => {
    const other = await generateOauth1Credentials();
    const { auth, emu } = bed({}, { encryptionKey: other.client.encryptionKey });
    const e = await rejection(auth.connect());
    expect(e.code).toBe("ERR_KEY");
    expect(e.step).toBe("lst");
    expect(e.hint).toMatch(/encryptionKey/);
    expect(emu.requests).toHaveLength(0);
  });

  it("a wrong DH prime: the LST fails its check, ERR_KEY naming dhPrime", async () => {
    const { createDiffieHellmanGroup } = await import("node:crypto");
    // a smaller prime keeps the challenge in range of IBKR's: the exchange succeeds, the LST cannot match
    const { auth } = bed({}, { dhPrime: createDiffieHellmanGroup("modp2").getPrime("hex") });
    const e = await rejection(auth.connect());
    expect(`${e.message} ${e.hint}`).toMatch(/dhPrime/);
  });

  it("config: OAuth 2.0 fields are refused with oauth1, missing fields are named, values never", () => {
    const { options } = bed();
    const mixed = thrownBy(() => new IBAuth({ ...options, clientId: "x" } as IBAuthOAuth1Options));
    expect(mixed.code).toBe("ERR_CONFIG");
    expect(mixed.field).toBe("clientId");
    const { dhPrime: _, ...noPrime } = creds.client;
    const missing = thrownBy(
      () => new IBAuth({ ...options, oauth1: { ...noPrime, accessTokenSecret: "not base64!" } } as never),
    );
    expect(missing.message).toContain("missing oauth1.dhPrime");
    expect(missing.message).toContain("invalid oauth1.accessTokenSecret");
    expect(missing.message).not.toContain("not base64!");
  });

  it("getAccessToken says OAuth 1.0a has none", async () => {
    const e = await rejection(bed().auth.getAccessToken());
    expect(e.code).toBe("ERR_CONFIG");
  });

  it("secrets never reach logs (debug), status, errors or JSON", async () => {
    const { auth, emu, logger, store } = bed();
    await auth.connect();
    emu.expireLst();
    await auth.fetch("/v1/api/iserver/accounts");
    emu.failNext({
      path: "/v1/api/oauth/live_session_token",
      status: 401,
      body: { error: creds.client.accessToken },
    });
    emu.expireLst();
    const e = await rejection(auth.tick());
    const lst = ((await store.get()) as { bearer: { token: string } }).bearer.token;
    const seen = [
      ...logger.lines,
      JSON.stringify(auth.status()),
      JSON.stringify(auth),
      e.message,
      e.hint,
      e.ibkrMessage,
      String(e.stack),
    ].join("\n");
    const pemBody = (pem: string) => pem.split("\n").slice(1, -2).join("");
    const secrets = [
      creds.client.accessToken,
      creds.client.accessTokenSecret,
      creds.consumer.accessTokenSecret,
      Buffer.from(creds.consumer.accessTokenSecret, "base64").toString("hex"),
      lst,
      Buffer.from(lst, "base64").toString("hex"),
      pemBody(creds.client.signatureKey).slice(0, 40),
      pemBody(creds.client.encryptionKey).slice(0, 40),
    ];
    for (const s of secrets) expect(seen).not.toContain(s);
    expect(logger.lines.length).toBeGreaterThan(3);
  });
});
