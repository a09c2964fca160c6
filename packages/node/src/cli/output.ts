/**
 * How the CLI talks: on a TTY, coloured steps that resolve in place; in a pipe, the same lines
 * without escape codes; with --json, nothing but one JSON object on stdout at the end (JSON log
 * lines on stderr).
 */
export interface StepRecord {
  name: string;
  ok: boolean;
  ms: number;
  detail?: string;
}

export interface OutputOptions {
  json: boolean;
  stdout?: NodeJS.WriteStream;
  stderr?: NodeJS.WriteStream;
}

const LABEL_WIDTH = 16;

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export class Output {
  readonly json: boolean;
  readonly steps: StepRecord[] = [];
  private readonly out: NodeJS.WriteStream;
  private readonly err: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly color: boolean;
  /** The step whose "… label" is on screen, waiting for its ✓ or ✗. */
  pendingStep: string | undefined;

  constructor(options: OutputOptions) {
    this.json = options.json;
    this.out = options.stdout ?? process.stdout;
    this.err = options.stderr ?? process.stderr;
    this.tty = Boolean(this.out.isTTY);
    this.color = colorWanted(this.tty);
  }

  paint(code: number, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }

  /** Runs one step, timing it; prints `✓ label  12 ms  detail` (or ✗) in human mode. */
  async step<T>(name: string, run: () => Promise<T>, detail?: (value: T) => string | undefined): Promise<T> {
    const label = name.padEnd(LABEL_WIDTH);
    this.pendingStep = name;
    this.drawPending();
    const started = performance.now();
    try {
      const value = await run();
      this.pendingStep = undefined;
      const ms = performance.now() - started;
      const text = detail?.(value);
      this.steps.push({ name, ok: true, ms: Math.round(ms), ...(text ? { detail: text } : {}) });
      this.line(
        `${this.paint(32, "✓")} ${label}${formatMs(ms).padStart(8)}${text ? `  ${this.paint(2, text)}` : ""}`,
      );
      return value;
    } catch (error) {
      this.pendingStep = undefined;
      const ms = performance.now() - started;
      this.steps.push({ name, ok: false, ms: Math.round(ms) });
      this.line(`${this.paint(31, "✗")} ${label}${formatMs(ms).padStart(8)}`);
      throw error;
    }
  }

  /** The outcome of a check that is not timed on its own: `✓ label  detail` (or ✗), recorded like a step. */
  result(name: string, ok: boolean, detail: string): void {
    this.steps.push({ name, ok, ms: 0, detail });
    this.line(`${ok ? this.paint(32, "✓") : this.paint(31, "✗")} ${name.padEnd(LABEL_WIDTH)}${detail}`);
  }

  /** A plain line of human output (stdout); nothing in JSON mode. */
  line(text: string): void {
    if (this.json) return;
    this.out.write(this.tty ? `\r\x1b[K${text}\n` : `${text}\n`);
  }

  /** A note for people on stderr (a JSON log line with --json), so stdout stays parseable. */
  note(text: string): void {
    this.log(this.json ? JSON.stringify({ level: "info", time: Date.now(), msg: text }) : text);
  }

  /**
   * One line on stderr that never glues onto a step's "… label" on the terminal: the pending label
   * is cleared first and drawn again after.
   */
  log(line: string): void {
    const pending = this.pendingStep !== undefined && this.tty && !this.json;
    if (pending) this.out.write("\r\x1b[K");
    this.err.write(`${line}\n`);
    if (pending) this.drawPending();
  }

  private drawPending(): void {
    if (this.json || !this.tty || this.pendingStep === undefined) return;
    this.out.write(`${this.paint(2, "…")} ${this.pendingStep.padEnd(LABEL_WIDTH)}`);
  }

  /** The end of a command that ran: a summary line, or one JSON object (`ok: false` when the answer was bad news). */
  done(summary: string, data: Record<string, unknown> = {}, ok = true): void {
    if (this.json) this.out.write(`${JSON.stringify({ ok, ...data, steps: this.steps })}\n`);
    else this.line(summary);
  }

  /** The end of a failed command: the one-line error on stderr, or with --json only the object on stdout. */
  failed(message: string, error: Record<string, unknown>): void {
    if (this.json) {
      this.out.write(`${JSON.stringify({ ok: false, error, steps: this.steps })}\n`);
      return;
    }
    if (this.pendingStep !== undefined && this.tty) this.out.write("\n");
    this.pendingStep = undefined;
    const prefix = colorWanted(Boolean(this.err.isTTY)) ? "\x1b[31mibauth:\x1b[0m" : "ibauth:";
    this.err.write(`${prefix} ${message}\n`);
  }
}

/** FORCE_COLOR (not "0" or "false") turns colour on anywhere; NO_COLOR turns it off; else only on a TTY. */
function colorWanted(tty: boolean): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== "") return force !== "0" && force !== "false";
  return tty && !process.env.NO_COLOR;
}
