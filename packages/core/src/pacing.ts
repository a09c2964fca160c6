import { IbauthError, type IbauthStep } from "./errors";

const SECOND = 1000;
const MAX_PENALTY_MS = 10 * 60_000;

/**
 * Keeps the SDK inside IBKR's budget: at most `perSecond` requests in any rolling second, and nothing
 * at all while a 429 penalty runs. A 429 without Retry-After starts at 60 s and doubles per strike up to
 * IBKR's 10-minute penalty box, so a refusing IBKR sees a handful of requests, never a storm.
 */
export class Pacer {
  /** Send times, past and reserved, ascending. */
  #slots: number[] = [];
  #strikes = 0;
  penaltyUntil = 0;

  constructor(
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
    // IBKR allows 50/s per user; 45 leaves room for clock differences and other clients of the same user.
    private readonly perSecond = 45,
  ) {}

  /**
   * Waits for a slot, or refuses at once while a penalty runs (waiting out minutes would look like a hang).
   * Slots are reserved synchronously, so concurrent callers queue into successive seconds instead of all
   * waking together. The SDK's own steps (token, bearer, init, tickle…) skip the queue: a heal must not
   * wait behind the requests it is healing. They are a few a second at most, inside the 5/s kept spare.
   */
  async admit(step: IbauthStep): Promise<void> {
    const t = this.now();
    if (t < this.penaltyUntil) {
      const retryAfterMs = this.penaltyUntil - t;
      throw new IbauthError("not sent: IBKR rate-limited this client", {
        code: "ERR_RATE_LIMITED",
        step,
        retryAfterMs,
        hint: `Wait ${Math.ceil(retryAfterMs / SECOND)} s; requests during IBKR's penalty extend it`,
      });
    }
    this.#slots = this.#slots.filter((s) => s > t - SECOND);
    if (step !== "request") {
      const at = this.#slots.findIndex((s) => s > t);
      this.#slots.splice(at === -1 ? this.#slots.length : at, 0, t);
      return;
    }
    const blocking = this.#slots[this.#slots.length - this.perSecond];
    const slot = blocking === undefined ? t : Math.max(t, blocking + SECOND);
    this.#slots.push(slot);
    if (slot > t) await this.sleep(slot - t);
  }

  /** Records a 429 and returns how long everything now waits. */
  penalize(retryAfterMs: number | undefined): number {
    this.#strikes++;
    const ms = retryAfterMs ?? Math.min(60_000 * 2 ** (this.#strikes - 1), MAX_PENALTY_MS);
    this.penaltyUntil = Math.max(this.penaltyUntil, this.now() + ms);
    return ms;
  }

  /** A success ends the strike count. */
  settle(): void {
    this.#strikes = 0;
  }
}

/** `Retry-After` as seconds or an HTTP date, in ms from now. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const s = Number(value);
  if (Number.isFinite(s) && s >= 0) return s * SECOND;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
