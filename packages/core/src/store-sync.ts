import { IbauthError, isIbauthError } from "./errors";
import type { Mechanism } from "./mechanism";
import type { SessionState } from "./session";
import type { SessionRecord } from "./store";
import { recordOrigin, usableRecord } from "./stored-record";

type StoreOp = "read" | "write" | "delete";

/**
 * The session's side of the store: loading a stored session once, adopting one another process renewed,
 * saving when something changed, deleting at logout, the login lock, and one warning per kind of store
 * failure. A failing store never fails the session: it lives in this process until the store answers again.
 */
export class StoreSync {
  #owner: Promise<string> | undefined;
  #loaded = false;
  #lastSaved: string | undefined;
  /** Store operations whose failure was already warned about (warned again after one succeeds). */
  readonly #warned = new Set<StoreOp>();

  constructor(
    private readonly s: SessionState,
    private readonly mech: Mechanism,
  ) {}

  get loaded(): boolean {
    return this.#loaded;
  }

  /** Which configuration a stored record belongs to: a hash of the mechanism's identity, never the identity. */
  owner(): Promise<string> {
    this.#owner ??= (async () => {
      const data = new TextEncoder().encode(this.mech.identity);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
      return Array.from(digest.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
    })();
    return this.#owner;
  }

  /** The stored session and pacing, once per instance. */
  async load(): Promise<void> {
    if (this.#loaded) return;
    await this.s.once("load", async () => {
      await this.s.pacing.load();
      const record = await this.#read();
      if (record) this.#adopt(record);
      this.#loaded = true;
    });
  }

  /** Another process (a second worker, the cron tick) may have renewed the session: use its session key instead of obtaining one. */
  async adoptNewer(): Promise<boolean> {
    const record = await this.#read();
    const mine = this.s.key;
    if (!record?.bearer || record.brokerageInitAt === undefined) return false;
    if (mine && (record.bearer.token === mine.token || record.bearer.createdAt <= mine.createdAt))
      return false;
    this.s.brokerage = undefined;
    this.#adopt(record);
    return true;
  }

  async save(): Promise<void> {
    const s = this.s;
    const v = s.lastValidate;
    const record: SessionRecord = {
      v: 1,
      owner: await this.owner(),
      origin: recordOrigin(s.flow.origin),
      ...this.mech.persisted(),
      ...(s.key ? { bearer: s.key } : {}),
      ...(s.brokerageInitAt === undefined ? {} : { brokerageInitAt: s.brokerageInitAt }),
      ...(v && v.epoch === s.epoch ? { validated: { at: v.at, result: v.result } } : {}),
      updatedAt: 0,
    };
    const text = JSON.stringify(record);
    if (text === this.#lastSaved) return;
    try {
      await s.cfg.store.set({ ...record, updatedAt: s.cfg.now() });
      this.#lastSaved = text;
      this.#warned.delete("write");
    } catch (e) {
      this.#failed("write", e);
    }
  }

  async delete(): Promise<void> {
    this.#lastSaved = undefined;
    try {
      await this.s.cfg.store.delete();
    } catch (e) {
      this.#failed("delete", e);
    }
  }

  /** Processes sharing a store log in one at a time (when the store can lock), so they log in once. */
  async underLoginLock(work: () => Promise<void>): Promise<void> {
    let unlock: (() => Promise<void>) | undefined;
    try {
      unlock = await this.s.cfg.store.lock?.("login");
    } catch (e) {
      this.s.cfg.logger.warn(
        { step: "store", error: e instanceof Error ? e.name : "unknown" },
        "login lock failed; logging in without it",
      );
    }
    try {
      await work();
    } finally {
      await unlock?.().catch(() => undefined);
    }
  }

  async #read(): Promise<SessionRecord | undefined> {
    let stored: unknown;
    try {
      stored = await this.s.cfg.store.get();
      this.#warned.delete("read");
    } catch (e) {
      this.#warnOnce("read", e, "treating it as empty");
      return undefined;
    }
    return usableRecord(stored, await this.owner(), {
      store: this.s.cfg.store,
      logger: this.s.cfg.logger,
      flow: this.s.flow,
      mech: this.mech,
    });
  }

  #adopt(record: SessionRecord): void {
    const s = this.s;
    this.mech.adopt(record);
    if (record.bearer) {
      s.key = record.bearer;
      s.remember(record.bearer.token);
      s.brokerageInitAt = record.brokerageInitAt;
      s.epoch++;
      s.lastValidate = record.validated && { ...record.validated, epoch: s.epoch };
      if (s.state === "idle" && record.brokerageInitAt !== undefined) s.setState("connected");
    }
    this.#lastSaved = JSON.stringify({ ...record, updatedAt: 0 });
  }

  /** The session itself is fine in memory; only resuming it elsewhere is lost, so this is recorded and warned, not thrown. */
  #failed(what: "write" | "delete", cause: unknown): void {
    this.s.fail(this.#warnOnce(what, cause, "the session lives in this process only until a write succeeds"));
  }

  /**
   * One warning per kind of store failure until that operation succeeds again. The store's own
   * IbauthError names its path and errno; a foreign error shows only its type.
   */
  #warnOnce(what: StoreOp, cause: unknown, consequence: string): IbauthError {
    // The store's message without its "store: " prefix.
    const detail = isIbauthError(cause) ? `: ${cause.message.replace(`${cause.step}: `, "")}` : "";
    const error = new IbauthError(`the session store refused the ${what}${detail}`, {
      code: "ERR_STORE",
      step: "store",
      cause,
    });
    if (!this.#warned.has(what))
      this.s.cfg.logger.warn(
        {
          step: "store",
          code: "ERR_STORE",
          ...(detail ? {} : { error: cause instanceof Error ? cause.name : "unknown" }),
        },
        `${error.message.replace("store: ", "")}; ${consequence}`,
      );
    this.#warned.add(what);
    return error;
  }
}
