import { denoKvStore, isIbauthError, parseSessionRecord, type SessionRecord } from "../../src/mod.ts";
import * as assert from "./assert.ts";
import { CANARY } from "./helpers.ts";

const RECORD: SessionRecord = {
  v: 1,
  owner: "owner-hash",
  accessToken: { token: "canary-access-token-5d1e", expiresAt: 1_900_000_000_000 },
  bearer: { token: "canary-bearer-token-88af", ip: "203.0.113.10", createdAt: 1_800_000_000_000 },
  brokerageInitAt: 1_800_000_001_000,
  updatedAt: 1_800_000_001_000,
};

async function withKv(run: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await run(kv);
  } finally {
    kv.close();
  }
}

async function entries(kv: Deno.Kv): Promise<Deno.KvEntry<unknown>[]> {
  return await Array.fromAsync(kv.list({ prefix: [] }));
}

Deno.test("kv store: round trip, one key, no secret in it", async () => {
  await withKv(async (kv) => {
    const store = denoKvStore(kv, { id: `${CANARY.clientId}:${CANARY.credential}` });
    assert.equal(await store.get(), undefined);
    await store.set(RECORD);
    assert.deepEqual(parseSessionRecord(await store.get()), RECORD);

    const all = await entries(kv);
    assert.equal(all.length, 1);
    const [key] = all.map((e) => e.key);
    assert.equal(key?.length, 3);
    assert.deepEqual(key?.slice(0, 2), ["ibauth", "session"]);
    assert.match(String(key?.[2]), /^[0-9a-f]{32}$/);
    const keyText = JSON.stringify(key);
    for (const secret of [CANARY.credential, CANARY.clientId, RECORD.bearer?.token]) {
      assert.ok(!keyText.includes(String(secret)), `KV key holds a secret: ${keyText}`);
    }

    await store.delete();
    assert.equal(await store.get(), undefined);
    assert.equal((await entries(kv)).length, 0);
  });
});

Deno.test("kv store: ids and prefixes keep sessions apart", async () => {
  await withKv(async (kv) => {
    const a = denoKvStore(kv, { id: "a" });
    const b = denoKvStore(kv, { id: "b" });
    const c = denoKvStore(kv, { id: "a", prefix: ["app", "ibkr"] });
    await a.set(RECORD);
    assert.equal(await b.get(), undefined);
    assert.equal(await c.get(), undefined);
    assert.deepEqual(parseSessionRecord(await denoKvStore(kv, { id: "a" }).get()), RECORD);
  });
});

Deno.test("kv store: a corrupt or foreign value reads as missing, never throws", async () => {
  await withKv(async (kv) => {
    const store = denoKvStore(kv);
    await store.set(RECORD);
    const [entry] = await entries(kv);
    for (const junk of [
      "{not json",
      42,
      { some: "object" },
      new Uint8Array([1, 2, 3]),
      JSON.stringify({ v: 99 }),
    ]) {
      await kv.set(entry?.key ?? [], junk);
      assert.equal(parseSessionRecord(await store.get()), undefined, `accepted ${String(junk)}`);
    }
  });
});

Deno.test("kv store: encrypted with AES-GCM, no token text at rest", async () => {
  await withKv(async (kv) => {
    const keyB64 = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const store = denoKvStore(kv, { encryptionKey: keyB64 });
    await store.set(RECORD);
    const [entry] = await entries(kv);
    const stored = JSON.stringify(entry?.value);
    assert.ok(
      !stored.includes(String(RECORD.bearer?.token)) && !stored.includes(String(RECORD.accessToken?.token)),
    );
    assert.match(stored, /"alg":"AES-GCM"/);
    assert.deepEqual(parseSessionRecord(await denoKvStore(kv, { encryptionKey: keyB64 }).get()), RECORD);

    // Another key, no key, a tampered value, or the record moved to another slot: all read as missing.
    const other = crypto.getRandomValues(new Uint8Array(32));
    assert.equal(await denoKvStore(kv, { encryptionKey: other }).get(), undefined);
    assert.equal(await denoKvStore(kv).get(), undefined);
    const sealed = entry?.value as { data: string };
    const flipped = `${sealed.data.slice(0, 10)}${sealed.data[10] === "A" ? "B" : "A"}${sealed.data.slice(11)}`;
    await kv.set(entry?.key ?? [], { ...sealed, data: flipped });
    assert.equal(await store.get(), undefined);
    await kv.set(entry?.key ?? [], sealed);
    const moved = denoKvStore(kv, { id: "elsewhere", encryptionKey: keyB64 });
    await kv.set(["ibauth", "session", ...(await entriesKeyTail(kv, moved))], sealed);
    assert.equal(await moved.get(), undefined);
  });
});

/** The hash part of the key `store` uses, found by writing through it once. */
async function entriesKeyTail(kv: Deno.Kv, store: ReturnType<typeof denoKvStore>): Promise<string[]> {
  const before = new Set((await entries(kv)).map((e) => JSON.stringify(e.key)));
  await store.set(RECORD);
  const added = (await entries(kv)).find((e) => !before.has(JSON.stringify(e.key)));
  return [String(added?.key[2])];
}

Deno.test("kv store: an unreadable value is one warning naming its kind, no secret", async () => {
  await withKv(async (kv) => {
    const lines: string[] = [];
    const logger = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (fields: Record<string, unknown>, msg?: string) =>
        void lines.push(`${msg} ${JSON.stringify(fields)}`),
    };
    const keyB64 = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    await denoKvStore(kv, { encryptionKey: keyB64 }).set(RECORD);
    const [entry] = await entries(kv);
    const sealed = entry?.value as { data: string };
    const flipped = `${sealed.data.slice(0, 10)}${sealed.data[10] === "A" ? "B" : "A"}${sealed.data.slice(11)}`;
    await kv.set(entry?.key ?? [], { ...sealed, data: flipped });
    const reader = denoKvStore(kv, { encryptionKey: keyB64, logger });
    assert.equal(await reader.get(), undefined);
    assert.equal(await reader.get(), undefined); // the same value again: no second warning
    await kv.set(entry?.key ?? [], "plain text where a sealed record belongs");
    assert.equal(await denoKvStore(kv, { encryptionKey: keyB64, logger }).get(), undefined);
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? "", /undecryptable: the encryptionKey changed or the record was tampered with/);
    assert.match(lines[1] ?? "", /"record":"corrupt"/);
    assert.ok(!lines.join("\n").includes(keyB64) && !lines.join("\n").includes(String(RECORD.bearer?.token)));
  });
});

Deno.test("kv store: a plain record is ignored once encryption is on", async () => {
  await withKv(async (kv) => {
    await denoKvStore(kv).set(RECORD);
    assert.equal(await denoKvStore(kv, { encryptionKey: new Uint8Array(16).fill(7) }).get(), undefined);
  });
});

Deno.test("kv store: a bad encryption key is ERR_CONFIG at first use", async () => {
  await withKv(async (kv) => {
    for (const bad of ["short", new Uint8Array(20), "%%%not base64%%%"]) {
      await assert.rejects(
        () => denoKvStore(kv, { encryptionKey: bad }).get(),
        (e) => isIbauthError(e) && e.code === "ERR_CONFIG" && e.field === "encryptionKey",
      );
    }
  });
});

Deno.test("kv store: a closed KV is ERR_STORE with a hint", async () => {
  const kv = await Deno.openKv(":memory:");
  const store = denoKvStore(kv);
  kv.close();
  await assert.rejects(
    () => store.set(RECORD),
    (e) =>
      isIbauthError(e) && e.code === "ERR_STORE" && e.step === "store" && /KV write failed/.test(e.message),
  );
});

Deno.test("kv store: with an encryption key the KV key is a keyed hash (a guessed username cannot be confirmed)", async () => {
  await withKv(async (kv) => {
    const id = `${CANARY.clientId}:${CANARY.credential}`;
    const random = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const [a, b] = [random(), random()];
    const tails: string[] = [];
    for (const encryptionKey of [a, b])
      tails.push(...(await entriesKeyTail(kv, denoKvStore(kv, { id, encryptionKey }))));
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(id)));
    const unkeyed = Array.from(digest, (x) => x.toString(16).padStart(2, "0"))
      .join("")
      .slice(0, 32);
    assert.ok(!tails.includes(unkeyed), "the KV key is the unkeyed SHA-256 of the id");
    assert.ok(tails[0] !== tails[1], "two encryption keys name the record alike");
    // the same secret names the same record: a restart resumes it
    assert.deepEqual(parseSessionRecord(await denoKvStore(kv, { id, encryptionKey: a }).get()), RECORD);
  });
});
