import { kvStore } from "@ibauth/cloudflare";
import { describe, expect, it } from "vitest";
import { type Harness, harness } from "./support";

const LOGOUT = "POST /v1/api/logout";

/** The session record's KV name and a store that opens it with the Worker's own key. */
function sessionRecordOf(h: Harness) {
  const put = h.kv.puts.find((p) => p.value.startsWith("ibauth-aesgcm-v1:"));
  if (!put) throw new Error("no sealed session record was written");
  return { key: put.key, store: kvStore(h.kv.kv, { key: put.key, encryptionKey: h.env.IBAUTH_SESSION_KEY }) };
}

const warnings = (h: Harness) => h.logs.filter((line) => JSON.parse(line).level === "warn");

describe("an unusable session record in KV (workerd)", () => {
  it("of another configuration: one warning naming it, and the orphaned IBKR session logged out once", async () => {
    const h = await harness();
    await h.tick();
    const { store } = sessionRecordOf(h);
    const record = JSON.parse((await store.get()) as string);
    await store.set({ ...record, owner: "another-configuration-owner" });
    h.logs.length = 0;
    const fresh = h.another();
    await h.tick(fresh);
    await h.tick(fresh);
    const warned = warnings(h);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain("foreign");
    expect(warned[0]).toContain('"orphanedSession":"logged out"');
    expect(warned[0]).not.toContain("another-configuration-owner");
    expect(h.emu.counts()[LOGOUT]).toBe(1);
    expect(h.logs.join("\n")).not.toContain(record.bearer.token);
    expect((await h.api("/v1/api/portfolio/accounts", {}, fresh)).status).toBe(200);
  });

  it("tampered: one warning that the key changed or the record was tampered with, then a fresh login", async () => {
    const h = await harness();
    await h.tick();
    const { key } = sessionRecordOf(h);
    const sealed = (await h.kv.kv.get(key, "text")) as string;
    await h.kv.kv.put(key, `${sealed.slice(0, -6)}AAAAAA`);
    h.logs.length = 0;
    await h.tick(h.another());
    const warned = warnings(h);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain("undecryptable: IBAUTH_SESSION_KEY changed or the record was tampered with");
    expect(h.emu.counts()["POST /gw/api/v1/sso-sessions"]).toBe(2);
    expect(h.emu.counts()[LOGOUT]).toBeUndefined();
  });
});
