import type { Logger } from "./log";
import type { Pacer } from "./pacing";
import { parsePacingRecord } from "./pacing-table";
import type { PacingStore } from "./store";

/**
 * Carries one username's pacing between the Pacer and the store's sibling record, so that the next CLI
 * run, another process on the same session file or the next Worker isolate respects a penalty and the
 * slow rows (tickle 1/s, validate 1/min…) this process used. Writes only when the record changes.
 */
export class PacingShare {
  #lastWritten: string | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: PacingStore | undefined,
    private readonly pacer: Pacer,
    private readonly id: () => Promise<string>,
    private readonly logger: Logger,
  ) {
    pacer.onChange = () => {
      this.#writing = this.#writing.then(() => this.#write());
      return this.#writing;
    };
  }

  /** Reads what other processes stored and takes it in. A failing store only means "nothing known". */
  async load(): Promise<void> {
    if (!this.store) return;
    try {
      const record = parsePacingRecord(await this.store.get(await this.id()));
      if (record) this.pacer.restore(record);
    } catch (e) {
      this.logger.warn(
        { step: "store", error: e instanceof Error ? e.name : "unknown" },
        "pacing record unreadable; pacing this process alone",
      );
    }
  }

  /** Resolves once every change so far is written. */
  flushed(): Promise<void> {
    return this.#writing;
  }

  async #write(): Promise<void> {
    if (!this.store) return;
    const record = this.pacer.snapshot();
    const text = JSON.stringify(record);
    if (text === this.#lastWritten) return;
    try {
      await this.store.set(await this.id(), record);
      this.#lastWritten = text;
    } catch (e) {
      this.logger.warn(
        { step: "store", error: e instanceof Error ? e.name : "unknown" },
        "could not store the pacing record; other processes will not see this one's pacing",
      );
    }
  }
}
