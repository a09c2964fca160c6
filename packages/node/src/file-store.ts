import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { IbauthError, type PacingRecord, type SessionRecord, type SessionStore } from "@ibauth/core";

function storeError(path: string, action: string, error: unknown): IbauthError {
  const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
  return new IbauthError(`cannot ${action} the session file ${path} (${code})`, {
    code: "ERR_STORE",
    step: "store",
    hint: "check that the folder exists and this user may write it, or change session_file",
    cause: error,
  });
}

const pacingPath = (folder: string, id: string) => join(folder, `.ibauth-pacing-${id}.json`);

/**
 * Writes through a private temp file in the same folder, renamed over the target: a reader (or a second
 * process writing at the same moment) only ever sees a whole file, the last rename wins. "wx" never
 * follows or reuses an existing file (a symlink planted at a predictable name), and 0o600 holds from
 * the first byte.
 */
async function writePrivate(target: string, text: string, action: string): Promise<void> {
  const folder = dirname(target);
  const temp = join(folder, `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw storeError(target, action, error);
  }
}

/** A lock older than this was left by a process that died mid-login: taken over. */
const STALE_LOCK_MS = 30_000;

/**
 * A lock file created with "wx" (atomic, never through a symlink); released by deleting it. Waits in
 * short steps while another process holds it.
 */
async function lockFile(lockPath: string): Promise<() => Promise<void>> {
  await mkdir(dirname(lockPath), { recursive: true, mode: 0o700 });
  for (;;) {
    try {
      const handle = await open(lockPath, "wx", 0o600);
      await handle.close();
      return () => unlink(lockPath).catch(() => {});
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST")
        throw storeError(lockPath, "create the lock", error);
    }
    const held = await stat(lockPath).catch(() => undefined);
    if (held && Date.now() - held.mtimeMs > STALE_LOCK_MS) await unlink(lockPath).catch(() => {});
    else await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * One session record in one file, mode 0600. Writes go to a private temp file in the same folder
 * and are renamed over the target, so a reader (or a second process writing at the same moment)
 * only ever sees a whole record: the last rename wins. A missing or empty file reads as `undefined`;
 * a corrupt one as its text, which the core warns about once and replaces by logging in again.
 */
export interface FileStoreOptions {
  /**
   * Where the per-username pacing record lives (it outlives logout and is shared by every session file
   * that uses this folder). Default: the session file's folder. The CLI uses its cache folder, so that
   * runs with different --session files for one username respect each other.
   */
  pacingFolder?: string;
}

export function fileStore(path: string, options: FileStoreOptions = {}): SessionStore {
  const pacingFolder = options.pacingFolder ?? dirname(path);
  return {
    async get() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw storeError(path, "read", error);
      }
      if (text.trim() === "") return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // As it is: the core names it corrupt in one warning (and `ibauth status` says so) before logging in again.
        return text;
      }
    },

    async set(record: SessionRecord) {
      await writePrivate(path, JSON.stringify(record), "write");
    },

    // Per username, beside the session file: it outlives logout and is shared by every session file in the folder.
    pacing: {
      accuracy: "approximate",
      staleMs: 0,
      async get(id: string) {
        try {
          return JSON.parse(await readFile(pacingPath(pacingFolder, id), "utf8")) as unknown;
        } catch {
          return undefined; // missing or corrupt: nothing to wait for
        }
      },
      async set(id: string, record: PacingRecord) {
        await writePrivate(
          pacingPath(pacingFolder, id),
          JSON.stringify(record),
          "write the pacing record of",
        );
      },
    },

    lock: (name) =>
      lockFile(name === "login" ? `${path}.login.lock` : join(pacingFolder, ".ibauth-pacing.lock")),

    async delete() {
      try {
        await unlink(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw storeError(path, "delete", error);
      }
    },
  };
}
