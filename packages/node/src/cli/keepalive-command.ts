import { isIbauthError } from "@ibauth/core";
import { keepAlive, type TickReport } from "../keep-alive";
import type { CliContext } from "./context";
import { cliLogger, loadCliAuth } from "./context";
import { describeFailure, UsageError } from "./failure";
import { formatDuration, formatMs, type Output } from "./output";
import { brokerageText, statusText } from "./session-commands";

function parseInterval(text: string | undefined): number {
  if (text === undefined) return 60_000;
  const seconds = Number(text);
  // IBKR paces /tickle at 1/s and drops an idle session after ~6 minutes.
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 300)
    throw new UsageError(`--interval must be 1..300 seconds (got ${text})`);
  return seconds * 1000;
}

/** `HH:MM:SS` local time, as a log reader expects at the start of a line. */
function clock(): string {
  return new Date().toTimeString().slice(0, 8);
}

/** One line per tick (like the Python client's RTT line), or one JSON object per tick with --json. */
function printTick(out: Output, tick: TickReport): void {
  const ms = Math.round(tick.ms);
  if (out.json) {
    const fields = tick.ok
      ? { action: tick.action, state: tick.status.state }
      : { error: describeFailure(tick.error).json, retryInMs: tick.retryInMs };
    process.stdout.write(`${JSON.stringify({ tick: Date.now(), ok: tick.ok, ms, ...fields })}\n`);
    return;
  }
  const what = tick.ok
    ? `${tick.action === "tickled" ? "" : `healed (${tick.action}) · `}${statusText(tick.status)}`
    : `failed: ${describeFailure(tick.error).message}; retry in ${formatDuration(tick.retryInMs)}`;
  out.line(`${clock()}  tickle ${formatMs(ms).padStart(7)}  ${what}`);
}

const PERMANENT = new Set(["ERR_CONFIG", "ERR_KEY", "ERR_AUTH"]);

/** `ibauth keepalive`: log in, tick until SIGINT/SIGTERM, then log out and exit 0. */
export async function keepaliveCommand(ctx: CliContext): Promise<void> {
  const intervalMs = parseInterval(ctx.options.interval);
  const { auth } = await loadCliAuth(ctx);
  try {
    await ctx.output.step(
      "login",
      () => auth.connect(),
      (s) => brokerageText(s.brokerage),
    );
  } catch (error) {
    // Started during IBKR's nightly restart or a network blip: keep trying, as a tick does. A config,
    // key or credential problem will not cure itself: exit and say so.
    if (!isIbauthError(error) || PERMANENT.has(error.code)) throw error;
    ctx.output.note(`login failed (${error.code} at ${error.step}); keepalive keeps trying`);
  }
  const ticker = keepAlive(auth, {
    intervalMs,
    // Each tick prints its own line (failures and heals included): keepAlive's reports would repeat them.
    logger: cliLogger(ctx.options, ctx.output, "warn"),
    onTick: (tick) => printTick(ctx.output, tick),
  });
  ctx.output.note(
    `keepalive: ticking every ${formatDuration(intervalMs)}; SIGINT (Ctrl-C) or SIGTERM logs out and exits`,
  );
  // keepAlive's timer is unref'd so it never holds a library user's process open; the CLI must.
  const hold = setInterval(() => {}, 1 << 30);
  const signal = await new Promise<NodeJS.Signals>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  clearInterval(hold);
  ctx.logger.info({ signal }, "stopping");
  await ticker.stop({ logout: true });
  ctx.output.done("keepalive stopped, logged out", { command: "keepalive", signal, status: auth.status() });
}
