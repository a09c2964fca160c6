import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { IbauthError, type SessionRecord, type SessionStore } from "@ibauth/core";

function storeError(path: string, action: string, error: unknown): IbauthError {
  const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
  return new IbauthError(`cannot ${action} the session file ${path} (${code})`, {
    code: "ERR_STORE",
    step: "store",
    hint: "check that the folder exists and this user may write it, or change session_file",
    cause: error,
  });
}

/**
 * One session record in one file, mode 0600. Writes go to a private temp file in the same folder
 * and are renamed over the target, so a reader (or a second process writing at the same moment)
 * only ever sees a whole record: the last rename wins. A missing, empty or corrupt file reads as
 * `undefined`, which makes the core log in again instead of crashing.
 */
export function fileStore(path: string): SessionStore {
  return {
    async get() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw storeError(path, "read", error);
      }
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return undefined;
      }
    },

    async set(record: SessionRecord) {
      const folder = dirname(path);
      const temp = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
      try {
        await mkdir(folder, { recursive: true, mode: 0o700 });
        // "wx": never follow or reuse an existing file; 0o600 from the first byte, so tokens are never world-readable.
        const handle = await open(temp, "wx", 0o600);
        try {
          await handle.writeFile(JSON.stringify(record));
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(temp, path);
      } catch (error) {
        await unlink(temp).catch(() => {});
        throw storeError(path, "write", error);
      }
    },

    async delete() {
      try {
        await unlink(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw storeError(path, "delete", error);
      }
    },
  };
}
