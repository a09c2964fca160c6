import { IBAuth, memoryStore, type SessionStore } from "@ibauth/core";
import { describe, expect, it } from "vitest";
import { testBed } from "./fixture";

const LOGOUT = "POST /v1/api/logout";
const BEARER = "POST /gw/api/v1/sso-sessions";

/** A store holding `value` as read, the way a file or KV would hand it over. */
function holding(value: unknown): SessionStore {
  const store = memoryStore();
  return { ...store, get: async () => value };
}

/** A live session of the test bed's configuration, and its stored record (as data). */
async function liveRecord() {
  const bed = await testBed();
  let saved: Record<string, unknown> | undefined;
  const auth = new IBAuth({
    ...bed.options,
    store: {
      ...memoryStore(),
      set: async (r) => {
        saved = { ...r };
      },
    },
  });
  await auth.connect();
  if (!saved) throw new Error("nothing was stored");
  return { bed, record: saved, token: (saved.bearer as { token: string }).token };
}

async function readBy(bed: Awaited<ReturnType<typeof testBed>>, value: unknown) {
  bed.logger.lines.length = 0;
  const auth = new IBAuth({ ...bed.options, store: holding(value) });
  await auth.connect();
  return bed.logger.lines.filter((l) => l.startsWith("warn"));
}

describe("an unusable stored record", () => {
  it("of another owner from this origin: one warning naming it, its orphaned session logged out once", async () => {
    const { bed, record, token } = await liveRecord();
    const warnings = await readBy(bed, { ...record, owner: "0123456789abcdef0123456789abcdef" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("foreign");
    expect(warnings[0]).toContain('"orphanedSession":"logged out"');
    expect(warnings[0]).not.toContain("0123456789abcdef");
    expect(bed.emu.counts()[LOGOUT]).toBe(1);
    expect(bed.emu.counts()[BEARER]).toBe(2);
    expect(
      bed.emu
        .state()
        .sessions.filter((s) => !s.ended)
        .map((s) => s.label),
    ).toEqual(["session-2"]);
    expect(bed.logger.lines.join("\n")).not.toContain(token);
  });

  it("of another version with a readable bearer: logged out, warned as unsupported version", async () => {
    const { bed, record } = await liveRecord();
    const warnings = await readBy(bed, JSON.stringify({ ...record, v: 2, accessToken: "reshaped" }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("unsupported version");
    expect(bed.emu.counts()[LOGOUT]).toBe(1);
  });

  it("of another owner that names no origin (or another one): not sent anywhere, still warned", async () => {
    const { bed, record } = await liveRecord();
    const { origin: _, ...withoutOrigin } = record;
    for (const value of [
      { ...withoutOrigin, owner: "other" },
      { ...record, owner: "other", origin: "https://api.ibkr.com" },
    ]) {
      const warnings = await readBy(bed, value);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("another or an unknown origin");
    }
    expect(bed.emu.counts()[LOGOUT]).toBeUndefined();
  });

  it("that is corrupt: warned as corrupt once however often it is read, nothing logged out", async () => {
    const bed = await testBed();
    const store = holding('{"v":1,"owner":');
    const auth = new IBAuth({ ...bed.options, store });
    await auth.connect();
    await auth.tickle();
    await new IBAuth({ ...bed.options, store }).connect();
    const warnings = bed.logger.lines.filter((l) => l.startsWith("warn"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("corrupt");
    expect(bed.emu.counts()[LOGOUT]).toBeUndefined();
  });
});
