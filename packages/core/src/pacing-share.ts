import type { ResolvedConfig } from "./config";
import type { Logger } from "./log";
import { Pacer } from "./pacing";
import { endpointTable, parsePacingRecord } from "./pacing-table";
import type { SessionStore } from "./store";

/**
 * The Pacer for one username's IBKR requests and the share that carries it through the store. `owner`
 * names the pacing record: the same hash as the session record's owner, so one username shares one record.
 * The session loads the share with the stored session and on each tick, and waits for it to be written
 * before a failure (a 429's penalty) reaches the caller.
 */
export function sharedPacing(
  cfg: Pick<ResolvedConfig, "now" | "sleep" | "endpointLimits" | "store" | "logger">,
  owner: () => Promise<string>,
): { pacer: Pacer; share: PacingShare } {
  const pacer = new Pacer(cfg.now, cfg.sleep, {
    table: endpointTable(cfg.endpointLimits),
    // rows shorter than the store's staleness are not worth sharing (KV: 60 s, so only validate)
    persistMinMs: Math.max(1000, cfg.store.pacing?.staleMs ?? 0),
  });
  return { pacer, share: new PacingShare(cfg.store, pacer, owner, cfg.logger) };
}

/**
 * Carries one username's pacing between the Pacer and the store's sibling record, so that the next CLI
 * run, another process on the same session file or the next Worker isolate respects a penalty and the
 * slow rows (tickle 1/s, validate 1/min…) this process used. Each exchange reads the record, takes in
 * what others stored, and writes only if that changed anything; under the store's lock when it has one.
 */
export class PacingShare {
  #lastWritten: string | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: SessionStore,
    private readonly pacer: Pacer,
    private readonly id: () => Promise<string>,
    private readonly logger: Logger,
  ) {
    if (!store.pacing) return;
    pacer.onChange = () => void this.#queue(() => this.#sync());
    pacer.reserve = (key, at) => this.#queue(() => this.#sync(key, at));
  }

  /** Reads what other processes stored and takes it in. */
  async load(): Promise<void> {
    await this.#queue(async () => {
      const stored = await this.#read();
      if (stored) this.pacer.restore(stored);
    });
  }

  /** Resolves once every change so far is written. */
  flushed(): Promise<unknown> {
    return this.#chain;
  }

  #queue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(work);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #read() {
    try {
      return parsePacingRecord(await this.store.pacing?.get(await this.id()));
    } catch (e) {
      this.#warn("pacing record unreadable; pacing this process alone", e);
      return undefined;
    }
  }

  /**
   * Read, take in, write back. With a row `key` and a send time `at`: answers another process's last send
   * on that row when it makes `at` too soon (and then writes nothing); else stores `at` with the rest.
   */
  async #sync(key?: string, at?: number): Promise<number | undefined> {
    const pacing = this.store.pacing;
    if (!pacing) return undefined;
    const unlock = await this.store.lock?.("pacing").catch((e) => this.#warn("pacing lock failed", e));
    try {
      const stored = await this.#read();
      const otherAt = key === undefined ? undefined : stored?.last?.[key];
      if (key !== undefined && at !== undefined && otherAt !== undefined && this.pacer.busy(key, at, otherAt))
        return otherAt;
      if (stored) this.pacer.restore(stored);
      if (key !== undefined && at !== undefined) this.pacer.restamp(key, at);
      const record = this.pacer.snapshot();
      const text = JSON.stringify(record);
      if (text !== this.#lastWritten && text !== JSON.stringify(stored)) {
        await pacing.set(await this.id(), record);
        this.#lastWritten = text;
      }
      return undefined;
    } catch (e) {
      this.#warn("could not store the pacing record; other processes will not see this one's pacing", e);
      return undefined;
    } finally {
      await unlock?.().catch(() => undefined);
    }
  }

  #warn(message: string, e: unknown): undefined {
    this.logger.warn({ step: "store", error: e instanceof Error ? e.name : "unknown" }, message);
    return undefined;
  }
}
