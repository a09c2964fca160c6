import { readFile, rename, writeFile } from "node:fs/promises";
import type { IBAuth, ValidateResult } from "@ibauth/core";

/**
 * IBKR allows /tickle once a second and /sso/validate once a minute per user, and answers a burst
 * with 429 and a 10-minute penalty box. The core paces calls within one process; this file carries
 * the last call times from one CLI run to the next (`ibauth && ibauth status` must not cost 10
 * minutes). It sits next to the session file and holds no secret.
 */
interface PaceRecord {
  tickleAt?: number;
  validate?: { at: number; bearerCreatedAt: number; result: ValidateResult };
}

const TICKLE_GAP_MS = 1_100;
const VALIDATE_GAP_MS = 61_000;

export class CliPacing {
  private record: PaceRecord = {};
  /** The previous run's last tickle; this run's own tickles are paced by the core. */
  private previousTickleAt = 0;
  private readonly path: string;

  constructor(sessionFile: string) {
    this.path = `${sessionFile}.pacing.json`;
  }

  async load(): Promise<this> {
    try {
      this.record = JSON.parse(await readFile(this.path, "utf8")) as PaceRecord;
      this.previousTickleAt = this.record.tickleAt ?? 0;
    } catch {
      this.record = {}; // missing or corrupt: nothing to wait for
    }
    return this;
  }

  /** Waits out the rest of IBKR's one-tickle-a-second window left by the previous run, if any. */
  async beforeTickle(): Promise<void> {
    const wait = this.previousTickleAt + TICKLE_GAP_MS - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  async tickled(): Promise<void> {
    this.record.tickleAt = Date.now();
    await this.save();
  }

  /**
   * sso/validate, or the previous run's answer for the same bearer when that is less than a minute
   * old. `storedBearerAt` identifies the bearer before the core has loaded it.
   */
  async validate(auth: IBAuth, storedBearerAt?: number): Promise<{ result: ValidateResult; ageMs?: number }> {
    const bearerCreatedAt = auth.status().bearerCreatedAt ?? storedBearerAt;
    const last = this.record.validate;
    if (last && last.bearerCreatedAt === bearerCreatedAt && Date.now() - last.at < VALIDATE_GAP_MS) {
      return { result: last.result, ageMs: Date.now() - last.at };
    }
    const result = await auth.validateSso();
    const createdAt = auth.status().bearerCreatedAt;
    if (createdAt !== undefined) {
      this.record.validate = { at: Date.now(), bearerCreatedAt: createdAt, result };
      await this.save();
    }
    return { result };
  }

  private async save(): Promise<void> {
    const temp = `${this.path}.${process.pid}.tmp`;
    try {
      await writeFile(temp, JSON.stringify(this.record), { mode: 0o600 });
      await rename(temp, this.path);
    } catch {
      // Pacing is a courtesy: a read-only folder must not fail the command.
    }
  }
}
