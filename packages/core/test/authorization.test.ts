// auth.authorization(): a proxy that sends requests itself (the Cloudflare Worker's KV mode) signs them
// with a stored session key through the same mechanism auth.fetch uses.
import { IBAuth, memoryStore, parseSessionRecord } from "@ibauth/core";
import { createEmulator, generateOauth1Credentials } from "@ibauth/emulator/node";
import { describe, expect, it } from "vitest";
import { CLIENT_ID, CREDENTIAL, ORIGIN, testKeys } from "./fixture";

const NOW = Date.UTC(2026, 10, 2, 14, 0, 0);

describe("auth.authorization()", () => {
  it("OAuth 1.0a: another instance signs a stored LST's requests (query included), each with a new nonce", async () => {
    const creds = await generateOauth1Credentials();
    const emu = createEmulator({ oauth1Consumers: [creds.consumer], now: () => NOW });
    const store = memoryStore();
    const options = { oauth1: creds.client, baseUrl: ORIGIN, fetch: emu.fetch, now: () => NOW, store };
    await new IBAuth(options).connect();
    const key = parseSessionRecord(await store.get())?.bearer;
    if (!key) throw new Error("no stored session key");

    // a fresh instance that never connected: it sends nothing itself
    const signer = new IBAuth({ ...options, store: memoryStore() });
    const url = `${ORIGIN}/v1/api/iserver/accounts?b=2&a=x%20y`;
    const first = await signer.authorization(key, "GET", url);
    const second = await signer.authorization(key, "GET", url);
    expect(first).toMatch(/^OAuth realm="limited_poa", .*oauth_signature_method="HMAC-SHA256"/);
    expect(second).not.toBe(first);
    const before = emu.counts()["POST /v1/api/oauth/live_session_token"];
    for (const authorization of [first, second]) {
      const res = await emu.fetch(url, { headers: { authorization, "user-agent": "test" } });
      expect(res.status).toBe(200);
    }
    // replaying a signature is refused: the nonce is single-use
    expect((await emu.fetch(url, { headers: { authorization: first, "user-agent": "test" } })).status).toBe(
      401,
    );
    expect(emu.counts()["POST /v1/api/oauth/live_session_token"]).toBe(before);
  });

  it("OAuth 2.0: the stored bearer as a Bearer header", async () => {
    const keys = await testKeys();
    const auth = new IBAuth({
      clientId: CLIENT_ID,
      clientKeyId: "main",
      credential: CREDENTIAL,
      privateKey: keys.privateKeyPem,
      baseUrl: ORIGIN,
      ip: "203.0.113.7",
    });
    const key = { token: "bearer-canary", ip: "203.0.113.7", createdAt: NOW };
    expect(await auth.authorization(key, "GET", `${ORIGIN}/v1/api/tickle`)).toBe("Bearer bearer-canary");
  });
});
