// The send queue: one queue for callers and the SDK's own steps, within IBKR's per-second budget and
// per-endpoint table. What a 429 stops, and for how long, is the penalty box (penalty.ts).
import { IbauthError, type IbauthStep } from "./errors";
import { type EndpointLimit, limitKeyFor, type PacingRecord } from "./pacing-table";
import { PenaltyBox } from "./penalty";

// http.ts takes the Retry-After reading from here, beside the Pacer that applies it
export { parseRetryAfter } from "./penalty";

const SECOND = 1000;

export interface PacerOptions {
  /** Sends in any rolling second, measured at send time. IBKR allows 50 per username; 45 leaves room for arrival jitter. */
  perSecond?: number;
  /** The shortest gap between two sends: IBKR's average spacing, so jitter cannot bunch a window. */
  minGapMs?: number;
  /** Added to every endpoint window, for the same reason. */
  marginMs?: number;
  /** IBKR's endpoint table (already merged with the user's rows). Empty for the IP-lookup pacer. */
  table?: Record<string, EndpointLimit>;
  /** Rows of one request per at least this long are reported to `onChange` for the store. */
  persistMinMs?: number;
}

export interface AdmitOptions {
  /** The URL path, to find its row in the endpoint table. */
  path?: string;
  /** Cancels the wait (never a request already sent). */
  signal?: AbortSignal | undefined;
}

interface Waiter {
  seq: number;
  /** Rejected by its AbortSignal or a penalty: never to be queued again. */
  done: boolean;
  /** The SDK's own steps (token, bearer, init, tickle…) go first: a heal must not wait behind what it heals. */
  own: boolean;
  step: IbauthStep;
  key: string | undefined;
  resolve: (release: () => void) => void;
  reject: (e: unknown) => void;
  unlisten: () => void;
}

/**
 * Keeps the SDK inside IBKR's budget, in one queue for callers and the SDK's own steps:
 * - at most `perSecond` sends in any rolling second and `minGapMs` between two sends;
 * - IBKR's per-endpoint table (rolling windows plus `marginMs`, and concurrency caps): a request
 *   waits for its row, never refused; others pass it meanwhile;
 * - nothing at all while a 429 penalty runs: queued and new requests are refused with the time sending
 *   resumes (waiting out minutes would look like a hang).
 * Callers keep their place while a heal holds the queue (`hold`), so after a heal they go in the order
 * they came, not behind later arrivals.
 */
export class Pacer {
  /** Called when the penalty or the strike count changed, for the store. */
  onChange: (() => void) | undefined;
  /**
   * Called before a send on a shared row (one request per ≥ persistMinMs) leaves: stores it for other
   * processes and answers the row's last send by another process, if the store knows a later one.
   */
  reserve: ((key: string, at: number) => Promise<number | undefined>) | undefined;
  readonly #box = new PenaltyBox();
  #seq = 0;
  #queue: Waiter[] = [];
  #sends: number[] = [];
  #rowSends = new Map<string, number[]>();
  #inFlight = new Map<string, number>();
  #holds = 0;
  #wakeAt = Number.POSITIVE_INFINITY;
  /** The latest moment a sleep was for: a clock that lags its sleep (a frozen test clock) must not make the pacer spin. */
  #slept = Number.NEGATIVE_INFINITY;
  readonly #perSecond: number;
  readonly #minGapMs: number;
  readonly #marginMs: number;
  readonly #table: Record<string, EndpointLimit>;
  readonly #persistMinMs: number;

  constructor(
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
    options: PacerOptions = {},
  ) {
    this.#perSecond = options.perSecond ?? 45;
    this.#minGapMs = options.minGapMs ?? 20;
    this.#marginMs = options.marginMs ?? 100;
    this.#table = options.table ?? {};
    this.#persistMinMs = options.persistMinMs ?? SECOND;
  }

  /** Nothing is sent before this moment (a 429's penalty; 0 when none ran). */
  get penaltyUntil(): number {
    return this.#box.until;
  }

  /**
   * Waits for this request's turn; resolves with a release to call once the answer has arrived (it ends
   * the request's share of a concurrency cap). Throws at once while a penalty runs.
   */
  admit(step: IbauthStep, options: AdmitOptions = {}): Promise<() => void> {
    const refused = this.#refusal(step, options.signal);
    if (refused) return Promise.reject(refused);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        seq: this.#seq++,
        done: false,
        own: step !== "request",
        step,
        key: options.path === undefined ? undefined : limitKeyFor(this.#table, options.path),
        resolve,
        reject,
        unlisten: () => {},
      };
      const signal = options.signal;
      if (signal) {
        const onAbort = () => {
          waiter.done = true;
          this.#remove(waiter);
          reject(aborted(step));
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.unlisten = () => signal.removeEventListener("abort", onAbort);
      }
      this.#enqueue(waiter);
      this.#pump();
    });
  }

  /** Callers' requests wait (keeping their place) until `work` settles; the SDK's own steps still go. */
  hold(work: Promise<unknown>): void {
    this.#holds++;
    void work
      .catch(() => undefined)
      .finally(() => {
        this.#holds--;
        this.#pump();
      });
  }

  /** Records a 429 (see PenaltyBox.penalize) and returns how long everything now waits. */
  penalize(retryAfterMs: number | undefined): number {
    const t = this.#now();
    this.#box.penalize(t, retryAfterMs);
    this.onChange?.();
    this.#pump();
    return this.#box.until - t;
  }

  /** A success ends the strike count. */
  settle(): void {
    if (this.#box.settle()) this.onChange?.();
  }

  /** The error for a request refused during a penalty: when sending resumes, as a time and in seconds. */
  rateLimited(step: IbauthStep): IbauthError {
    return this.#box.refusal(step, this.#now());
  }

  /** What other processes need to know (see PacingRecord). */
  snapshot(): PacingRecord {
    const last: Record<string, number> = {};
    for (const [key, times] of this.#rowSends) {
      const limit = this.#table[key];
      const t = times[times.length - 1];
      if (t !== undefined && limit?.requests === 1 && (limit.perMs ?? 0) >= this.#persistMinMs) last[key] = t;
    }
    return {
      v: 1,
      ...(this.#box.until > this.#now() ? { penaltyUntil: this.#box.until } : {}),
      ...(this.#box.strikes ? { strikes: this.#box.strikes } : {}),
      ...(Object.keys(last).length ? { last } : {}),
    };
  }

  /** Takes in what another process stored: a later penalty, more strikes, later sends. */
  restore(record: PacingRecord): void {
    if ((record.penaltyUntil ?? 0) > this.#box.until) this.#box.until = record.penaltyUntil as number;
    this.#box.strikes = Math.max(this.#box.strikes, record.strikes ?? 0);
    for (const [key, at] of Object.entries(record.last ?? {})) {
      if (!this.#table[key]) continue;
      const times = this.#rowSends.get(key) ?? [];
      if (!times.length || (times[times.length - 1] as number) < at) times.push(at);
      this.#rowSends.set(key, times);
    }
    this.#pump();
  }

  #now(): number {
    return Math.max(this.now(), this.#slept);
  }

  #refusal(step: IbauthStep, signal: AbortSignal | undefined): IbauthError | undefined {
    if (signal?.aborted) return aborted(step);
    return this.#now() < this.penaltyUntil ? this.rateLimited(step) : undefined;
  }

  #remove(waiter: Waiter): void {
    const i = this.#queue.indexOf(waiter);
    if (i !== -1) this.#queue.splice(i, 1);
    waiter.unlisten();
  }

  /** Releases every waiter whose turn has come, then sleeps until the next one's. */
  #pump(): void {
    const t = this.#now();
    if (t < this.penaltyUntil) {
      for (const w of this.#queue.splice(0)) {
        w.done = true;
        w.unlisten();
        w.reject(this.rateLimited(w.step));
      }
      return;
    }
    // Nobody waiting: nothing to wake for (a timer per send would cost every request an event-loop turn).
    while (this.#queue.length) {
      const globalAt = this.#globalAt(t);
      if (globalAt > t) {
        this.#wake(globalAt);
        return;
      }
      let next: Waiter | undefined;
      let wake = Number.POSITIVE_INFINITY;
      for (const w of this.#queue) {
        if (!w.own && this.#holds > 0) continue; // a hold's end pumps again
        const rowAt = this.#rowAt(w.key, t);
        if (rowAt <= t) {
          next = w;
          break;
        }
        wake = Math.min(wake, rowAt);
      }
      if (!next) {
        this.#wake(wake);
        return;
      }
      this.#release(next, t);
    }
  }

  /** Own steps before callers; each group in arrival order. */
  #enqueue(waiter: Waiter): void {
    const at = this.#queue.findIndex(
      (w) => (waiter.own && !w.own) || (w.own === waiter.own && w.seq > waiter.seq),
    );
    this.#queue.splice(at === -1 ? this.#queue.length : at, 0, waiter);
  }

  /**
   * Lets a waiter go. On a shared row the store is asked first: if another process sent on it within
   * the window, this send is taken back and the waiter waits, in its place, for the row to be free.
   */
  #release(next: Waiter, t: number): void {
    const i = this.#queue.indexOf(next);
    if (i !== -1) this.#queue.splice(i, 1);
    const { release, shared } = this.#record(next.key, t);
    const key = next.key;
    if (!shared || !this.reserve || key === undefined) {
      next.unlisten();
      next.resolve(release);
      return;
    }
    void this.reserve(key, t).then((otherAt) => {
      if (this.#now() < this.penaltyUntil) {
        next.done = true;
        next.unlisten();
        next.reject(this.rateLimited(next.step)); // a penalty began while the store was asked
        return;
      }
      if (otherAt === undefined || !this.busy(key, t, otherAt)) {
        next.unlisten();
        next.resolve(release);
        return;
      }
      release();
      this.#unrecord(key, t);
      this.restore({ v: 1, last: { [key]: otherAt } });
      if (!next.done) this.#enqueue(next);
      this.#pump();
    });
  }

  /** Whether a send at `t` on this row would come too soon after another process's send at `otherAt`. */
  busy(key: string, t: number, otherAt: number): boolean {
    const limit = this.#table[key];
    return limit !== undefined && t - otherAt < (limit.perMs ?? 0) + this.#marginMs;
  }

  /**
   * Moves this process's send on a row from `from` to now, just before it is stored and sent: time spent
   * on the store (a lock, a write) must not shorten the gap another process keeps after it.
   */
  restamp(key: string, from: number): void {
    const t = this.#now();
    for (const times of [this.#sends, this.#rowSends.get(key) ?? []]) {
      const i = times.lastIndexOf(from);
      if (i !== -1) {
        times.splice(i, 1);
        times.push(t);
        times.sort((a, b) => a - b);
      }
    }
  }

  #unrecord(key: string, t: number): void {
    for (const times of [this.#sends, this.#rowSends.get(key) ?? []]) {
      const i = times.lastIndexOf(t);
      if (i !== -1) times.splice(i, 1);
    }
  }

  /** The first moment the global window and the gap allow a send. */
  #globalAt(t: number): number {
    while (this.#sends.length && (this.#sends[0] as number) <= t - SECOND) this.#sends.shift();
    const last = this.#sends[this.#sends.length - 1];
    let at = last === undefined ? t : last + this.#minGapMs;
    if (this.#sends.length >= this.#perSecond)
      at = Math.max(at, (this.#sends[this.#sends.length - this.#perSecond] as number) + SECOND);
    return at;
  }

  /** The first moment this row allows a send (Infinity while its concurrency cap is full: a release pumps). */
  #rowAt(key: string | undefined, t: number): number {
    const limit = key === undefined ? undefined : this.#table[key];
    if (!limit || key === undefined) return t;
    if (limit.concurrent !== undefined && (this.#inFlight.get(key) ?? 0) >= limit.concurrent)
      return Number.POSITIVE_INFINITY;
    if (limit.requests === undefined || limit.perMs === undefined) return t;
    const window = limit.perMs + this.#marginMs;
    const times = this.#rowSends.get(key) ?? [];
    while (times.length && (times[0] as number) <= t - window) times.shift();
    let at = t;
    const last = times[times.length - 1];
    if (last !== undefined) at = Math.max(at, last + limit.perMs / limit.requests);
    if (times.length >= limit.requests)
      at = Math.max(at, (times[times.length - limit.requests] as number) + window);
    return at;
  }

  #record(key: string | undefined, t: number): { release: () => void; shared: boolean } {
    this.#sends.push(t);
    const limit = key === undefined ? undefined : this.#table[key];
    if (!limit || key === undefined) return { release: () => {}, shared: false };
    const times = this.#rowSends.get(key) ?? [];
    times.push(t);
    this.#rowSends.set(key, times);
    const shared = limit.requests === 1 && (limit.perMs ?? 0) >= this.#persistMinMs;
    if (limit.concurrent === undefined) return { release: () => {}, shared };
    this.#inFlight.set(key, (this.#inFlight.get(key) ?? 0) + 1);
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      this.#inFlight.set(key, (this.#inFlight.get(key) ?? 1) - 1);
      this.#pump();
    };
    return { release, shared };
  }

  #wake(at: number): void {
    if (!Number.isFinite(at) || at >= this.#wakeAt) return;
    this.#wakeAt = at;
    void this.sleep(at - this.#now()).then(() => {
      this.#slept = Math.max(this.#slept, at);
      if (this.#wakeAt === at) this.#wakeAt = Number.POSITIVE_INFINITY;
      this.#pump();
    });
  }
}

function aborted(step: IbauthStep): IbauthError {
  return new IbauthError("aborted by the caller while waiting for IBKR's pacing", {
    code: "ERR_ABORTED",
    step,
  });
}
