import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { classifyRecord, type SessionRecord } from "@ibauth/core";
import { authFromYaml, fileStore, silentLogger } from "@ibauth/node";
import { describe, expect, it } from "vitest";
import { makeKeys, startTestEmulator, tempDir, writeWorkspace } from "./helpers";

function record(n: number, pad = 0): SessionRecord {
  return {
    v: 1,
    owner: `owner-${n}`,
    accessToken: { token: `t${n}-${"x".repeat(pad)}`, expiresAt: n },
    updatedAt: n,
  };
}

describe("fileStore", () => {
  it("round-trips a record in a 0600 file and deletes it", async () => {
    const path = join(tempDir(), "nested", "session.json");
    const store = fileStore(path);
    expect(await store.get()).toBeUndefined();
    await store.set(record(1));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(await store.get()).toEqual(record(1));
    await store.delete();
    expect(await store.get()).toBeUndefined();
    await store.delete(); // deleting nothing is fine
  });

  it("reads an empty file as missing, a corrupt or truncated one as its text (for the core to name)", async () => {
    const path = join(tempDir(), "session.json");
    const store = fileStore(path);
    for (const empty of ["", " \n"]) {
      writeFileSync(path, empty);
      expect(await store.get()).toBeUndefined();
    }
    for (const junk of ["{", '{"v":1,"owner":', "not json at all"]) {
      writeFileSync(path, junk);
      expect(await store.get()).toBe(junk);
      expect(classifyRecord(await store.get(), "any").kind).toBe("corrupt");
    }
  });

  it("reports an unwritable location as ERR_STORE naming the file", async () => {
    const blocker = join(tempDir(), "file");
    writeFileSync(blocker, "");
    const store = fileStore(join(blocker, "session.json")); // a file where a folder should be
    await expect(store.set(record(1))).rejects.toMatchObject({
      code: "ERR_STORE",
      message: expect.stringContaining(blocker),
    });
  });

  it("two processes writing at once never leave a torn file, and leave no temp files", async () => {
    const dir = tempDir();
    const path = join(dir, "session.json");
    const writer = (id: number) =>
      new Promise<number | null>((done) => {
        // Large records make a non-atomic write observable as invalid JSON.
        const script = `
          import { authFromYaml, fileStore, silentLogger } from "@ibauth/node";
          const store = fileStore(${JSON.stringify(path)});
          for (let i = 0; i < 150; i++) {
            await store.set({ v: 1, owner: "writer-${id}", accessToken: { token: "${id}".repeat(200000), expiresAt: i }, updatedAt: i });
          }`;
        const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
          cwd: import.meta.dirname,
          stdio: "inherit",
        });
        child.on("close", done);
      });
    const writers = Promise.all([writer(1), writer(2)]);
    let done = false;
    writers.then(() => (done = true));
    let reads = 0;
    while (!done) {
      let text: string | undefined;
      try {
        text = readFileSync(path, "utf8");
      } catch {
        // not written yet
      }
      if (text !== undefined) {
        const parsed = JSON.parse(text); // throws on a torn file
        expect(["writer-1", "writer-2"]).toContain(parsed.owner);
        expect(parsed.accessToken.token).toHaveLength(200000);
        reads++;
      }
      await new Promise((r) => setImmediate(r));
    }
    expect(await writers).toEqual([0, 0]);
    expect(reads).toBeGreaterThan(10);
    expect(readdirSync(dir)).toEqual(["session.json"]);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

describe("a session file that cannot be written", () => {
  it("connect() still succeeds (the session lives in memory) and the library warns once, naming the path and errno", async () => {
    const keys = makeKeys();
    const server = await startTestEmulator(keys.publicKeyPem);
    try {
      const ws = writeWorkspace(keys, server.url);
      writeFileSync(join(ws.dir, "a-file"), "");
      const path = join(ws.dir, "a-file", "session.json");
      const warnings: string[] = [];
      const logger = {
        ...silentLogger,
        warn: (_: Record<string, unknown>, msg?: string) => warnings.push(msg ?? ""),
      };
      const auth = await authFromYaml(ws.config, { store: fileStore(path), logger });
      await auth.connect();
      await auth.tick();
      await auth.tick();
      // Once per kind of failure: the read (a path under a file cannot be read either) and the write.
      expect(warnings.filter((w) => w.includes("refused the read"))).toHaveLength(1);
      const storeWarnings = warnings.filter((w) => w.includes("refused the write"));
      expect(storeWarnings).toHaveLength(1);
      expect(storeWarnings[0]).toMatch(
        new RegExp(
          `^the session store refused the write: cannot write the session file ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\((ENOTDIR|EEXIST)\\)`,
        ),
      );
      expect(auth.status().lastError).toBeUndefined(); // connected: the failure is the store's, not the session's
    } finally {
      await server.close();
    }
  });
});
