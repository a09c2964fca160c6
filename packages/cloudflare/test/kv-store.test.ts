import { env } from "cloudflare:test";
import { kvStore } from "@ibauth/cloudflare";
import type { SessionRecord } from "@ibauth/core";
import { describe, expect, it } from "vitest";
import { countingKv, randomSessionKey } from "./support";

const record = (token: string): SessionRecord => ({
  v: 1,
  owner: "o",
  bearer: { token, ip: "203.0.113.10", createdAt: 1 },
  brokerageInitAt: 2,
  updatedAt: 3,
});

const uniqueKey = () => `test:${crypto.randomUUID()}`;

describe("kvStore", () => {
  it("round-trips an encrypted record and writes only on change", async () => {
    const kv = countingKv(env.IBAUTH_SESSIONS);
    const key = uniqueKey();
    const secret = randomSessionKey();
    const store = kvStore(kv.kv, { key, encryptionKey: secret });
    expect(await store.get()).toBeUndefined();
    await store.set(record("bearer-one-canary"));
    await store.set(record("bearer-one-canary"));
    expect(kv.puts.length).toBe(1);
    expect(
      JSON.parse((await kvStore(kv.kv, { key, encryptionKey: secret }).get()) as string).bearer.token,
    ).toBe("bearer-one-canary");
    expect(kv.puts[0]?.value).not.toContain("bearer-one-canary");
  });

  it("reads a value under another key, another session key, or in plaintext as missing", async () => {
    const kv = countingKv(env.IBAUTH_SESSIONS);
    const key = uniqueKey();
    const secret = randomSessionKey();
    await kvStore(kv.kv, { key, encryptionKey: secret }).set(record("t"));
    const sealed = (await kv.kv.get(key, "text")) as string;
    expect(await kvStore(kv.kv, { key, encryptionKey: randomSessionKey() }).get()).toBeUndefined();
    const moved = uniqueKey();
    await kv.kv.put(moved, sealed); // the ciphertext is bound to its KV key
    expect(await kvStore(kv.kv, { key: moved, encryptionKey: secret }).get()).toBeUndefined();
    const planted = uniqueKey();
    await kv.kv.put(planted, JSON.stringify(record("planted")));
    expect(await kvStore(kv.kv, { key: planted, encryptionKey: secret }).get()).toBeUndefined();
    await kv.kv.put(key, `${sealed.slice(0, -4)}AAAA`); // tampered
    expect(await kvStore(kv.kv, { key, encryptionKey: secret }).get()).toBeUndefined();
  });

  it("warns once per unreadable read, naming the kind: undecryptable (key or tampering) or not encrypted", async () => {
    const kv = countingKv(env.IBAUTH_SESSIONS);
    const key = uniqueKey();
    const secret = randomSessionKey();
    await kvStore(kv.kv, { key, encryptionKey: secret }).set(record("bearer-canary-77"));
    const sealed = (await kv.kv.get(key, "text")) as string;
    const read = async (encryptionKey: string) => {
      const lines: string[] = [];
      const warn = (fields: Record<string, unknown>, msg?: string) =>
        void lines.push(`${msg} ${JSON.stringify(fields)}`);
      const logger = { debug: () => {}, info: () => {}, warn, error: () => {} };
      expect(await kvStore(kv.kv, { key, encryptionKey, logger }).get()).toBeUndefined();
      expect(lines).toHaveLength(1);
      expect(lines[0]).not.toContain(encryptionKey);
      return lines[0];
    };
    const undecryptable = "undecryptable: IBAUTH_SESSION_KEY changed or the record was tampered with";
    expect(await read(randomSessionKey())).toContain(undecryptable);
    await kv.kv.put(key, `${sealed.slice(0, -4)}AAAA`);
    expect(await read(secret)).toContain(undecryptable);
    await kv.kv.put(key, JSON.stringify(record("planted")));
    expect(await read(secret)).toContain('"record":"corrupt"');
  });

  it("stores JSON when no key is given, and deletes", async () => {
    const key = uniqueKey();
    const store = kvStore(env.IBAUTH_SESSIONS, { key });
    await store.set(record("plain"));
    expect(JSON.parse((await env.IBAUTH_SESSIONS.get(key, "text")) as string).bearer.token).toBe("plain");
    await store.delete();
    expect(await store.get()).toBeUndefined();
  });

  it("refuses a TTL under KV's 60 s minimum and a session key of the wrong size", async () => {
    expect(() => kvStore(env.IBAUTH_SESSIONS, { ttlSeconds: 30 })).toThrow(/60/);
    const store = kvStore(env.IBAUTH_SESSIONS, { key: uniqueKey(), encryptionKey: btoa("too short") });
    await expect(store.set(record("x"))).rejects.toMatchObject({
      code: "ERR_CONFIG",
      field: "IBAUTH_SESSION_KEY",
    });
  });

  it("spaces writes to one key at least a second apart (KV's per-key limit)", async () => {
    const store = kvStore(env.IBAUTH_SESSIONS, { key: uniqueKey() });
    const started = Date.now();
    await store.set(record("a"));
    await store.set(record("b"));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });
});
