/** The emulator's clock: an injected (or real) time source plus an offset that advance() moves forward. */
export class Clock {
  #offset = 0;
  constructor(private readonly source: () => number = Date.now) {}
  now(): number {
    return this.source() + this.#offset;
  }
  nowSec(): number {
    return Math.floor(this.now() / 1000);
  }
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError("advance(ms) needs a finite, non-negative number");
    this.#offset += ms;
  }
}

/** The first daily-reset instant strictly after `from` (ms), at `hourUtc`:00 UTC. */
export function nextDailyReset(from: number, hourUtc: number): number {
  const d = new Date(from);
  const at = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), hourUtc);
  return at > from ? at : at + 86_400_000;
}
