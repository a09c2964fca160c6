// The access-token secret is decrypted, and the signature key imported, once per process however many
// IBAuth instances log in (a Worker makes one per operation), and afresh when the configuration changes.
// Counted by wrapping the real functions (the decryption and the import still run), not by timing.
import { generateKeyPairSync } from "node:crypto";
import { createEmulator, generateOauth1Credentials, type Oauth1Credentials } from "@ibauth/emulator/node";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { isIbauthError } from "../src/errors";
import { IBAuth } from "../src/ibauth";
import { importOAuth1SignatureKey } from "../src/oauth1/prepared";
import type { OAuth1Credentials } from "../src/types";
import { ORIGIN, virtualClock } from "./fixture";

const calls = vi.hoisted(() => ({ decrypt: 0, importKey: 0 }));
vi.mock("../src/oauth1/rsa-decrypt", async (original) => {
  const real = await original<typeof import("../src/oauth1/rsa-decrypt")>();
  return {
    ...real,
    rsaPkcs1v15Decrypt: (...args: Parameters<typeof real.rsaPkcs1v15Decrypt>) => {
      calls.decrypt++;
      return real.rsaPkcs1v15Decrypt(...args);
    },
  };
});
vi.mock("../src/keys", async (original) => {
  const real = await original<typeof import("../src/keys")>();
  return {
    ...real,
    importPrivateKey: (...args: Parameters<typeof real.importPrivateKey>) => {
      calls.importKey++;
      return real.importPrivateKey(...args);
    },
  };
});

const LST = "POST /v1/api/oauth/live_session_token";
let a: Oauth1Credentials;
let b: Oauth1Credentials;
beforeAll(async () => {
  [a, b] = await Promise.all([
    generateOauth1Credentials({ consumerKey: "PREPCONSA", credential: "prepusera" }),
    generateOauth1Credentials({ consumerKey: "PREPCONSB", credential: "prepuserb" }),
  ]);
});

describe("OAuth 1.0a: what a login prepares from the credentials", () => {
  it("is computed once per process, again when the secret, encryption key or signature key changes, and a failure is not kept", async () => {
    const { now, sleep } = virtualClock(Date.UTC(2026, 10, 2, 14, 0, 0));
    const emu = createEmulator({ oauth1Consumers: [a.consumer, b.consumer], now });
    const login = (oauth1: OAuth1Credentials) =>
      new IBAuth({ oauth1, baseUrl: ORIGIN, fetch: emu.fetch, now, sleep }).connect();
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => "connected",
        (e: unknown) => (isIbauthError(e) ? `${e.code} at ${e.step}: ${e.message}` : String(e)),
      );

    // three instances with the same credentials (as a Worker's three operations), three LSTs, one decryption
    for (let i = 0; i < 3; i++) expect((await login(a.client)).state).toBe("connected");
    expect(emu.counts()[LST]).toBe(3);
    expect(calls).toEqual({ decrypt: 1, importKey: 1 });

    // other credentials: their own decryption and import; the first ones are still kept
    expect((await login(b.client)).state).toBe("connected");
    expect((await login(a.client)).state).toBe("connected");
    expect(calls).toEqual({ decrypt: 2, importKey: 2 });

    // the same encryption key with another secret is decrypted afresh (and fails: it is b's); a failed
    // decryption is tried again at the next login rather than remembered
    const mixed = { ...a.client, accessTokenSecret: b.client.accessTokenSecret };
    for (let i = 0; i < 2; i++)
      expect(await failure(login(mixed))).toMatch(
        /^ERR_KEY at lst: .*the access-token secret could not be decrypted/,
      );
    expect(calls.decrypt).toBe(4);

    // another encryption key for the same secret: decrypted afresh (and fails)
    expect(await failure(login({ ...a.client, encryptionKey: b.client.encryptionKey }))).toMatch(/^ERR_KEY/);
    expect(calls.decrypt).toBe(5);

    // a signature key not seen before: imported afresh (IBKR then refuses the signature); the secret is
    // not decrypted again
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const freshKey = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const before = calls.importKey;
    expect(await failure(login({ ...a.client, signatureKey: freshKey }))).toMatch(/^ERR_AUTH at lst/);
    expect(calls.importKey).toBe(before + 1);
    expect(calls.decrypt).toBe(5);
  });

  it("keeps at most 64 signature keys, the least recently used leaving first", async () => {
    // 65 spellings of one PEM (trailing newlines): 65 entries
    const spelling = (i: number) => `${a.client.signatureKey}${"\n".repeat(i + 1)}`;
    const start = calls.importKey;
    for (let i = 0; i < 64; i++) await importOAuth1SignatureKey(spelling(i));
    await importOAuth1SignatureKey(spelling(0)); // used again: now the most recent
    expect(calls.importKey - start).toBe(64);
    await importOAuth1SignatureKey(spelling(64)); // the 65th pushes out spelling 1, the least recently used
    await importOAuth1SignatureKey(spelling(0));
    expect(calls.importKey - start).toBe(65);
    await importOAuth1SignatureKey(spelling(1));
    expect(calls.importKey - start).toBe(66);
  });
});
