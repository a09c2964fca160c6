// IBKR's penalty box (protocol §0.6) as the pacer keeps it: how long a 429 stops all sending, the strikes
// that lengthen it, and the error a request refused meanwhile gets. The send queue is pacing.ts.
import { IbauthError, type IbauthStep } from "./errors";

const SECOND = 1000;
/** IBKR's penalty box: the longest pause a 429 without Retry-After earns. */
const PENALTY_BOX_MS = 10 * 60_000;
/**
 * The longest pause a Retry-After can impose. IBKR's older docs name a 15-minute box; anything longer is
 * a broken header (Retry-After: 99999999 would pause for three years) and must not outlive the session.
 */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

/** When sending may resume, and the 429s that earned it. */
export class PenaltyBox {
  until = 0;
  strikes = 0;

  /**
   * Records a 429 at `t`; returns whether the strike count changed. Every 429 answered within one penalty
   * window is one strike (a burst's requests were all sent before the first 429 came back). A Retry-After
   * is honoured up to MAX_RETRY_AFTER_MS; without one, 60 s doubling per strike up to 10 min.
   */
  penalize(t: number, retryAfterMs: number | undefined): void {
    if (t >= this.until) this.strikes++;
    const ms =
      retryAfterMs === undefined
        ? Math.min(60_000 * 2 ** (this.strikes - 1), PENALTY_BOX_MS)
        : Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
    this.until = Math.max(this.until, t + ms);
  }

  /** A success ends the strike count; true when there were strikes to end. */
  settle(): boolean {
    if (this.strikes === 0) return false;
    this.strikes = 0;
    return true;
  }

  /** The error for a request refused during the penalty: when sending resumes, as a time and in seconds. */
  refusal(step: IbauthStep, t: number): IbauthError {
    const retryAfterMs = Math.max(0, this.until - t);
    const at = new Date(this.until).toISOString();
    return new IbauthError(
      `not sent: IBKR rate-limited this client; sending resumes at ${at} (in ${Math.ceil(retryAfterMs / SECOND)} s)`,
      {
        code: "ERR_RATE_LIMITED",
        step,
        retryAfterMs,
        hint: "Wait until then: requests during IBKR's penalty extend it. A keepalive resumes on its own at that moment",
      },
    );
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
