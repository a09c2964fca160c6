import { isIbauthError } from "@ibauth/core";
import { keepAlive } from "../keep-alive";
import type { CliContext } from "./context";
import { keepAliveLogger, loadCliAuth } from "./context";
import { UsageError } from "./failure";
import { formatDuration } from "./output";
import { brokerageText } from "./session-commands";

function parseInterval(text: string | undefined): number {
  if (text === undefined) return 60_000;
  const seconds = Number(text);
  // IBKR paces /tickle at 1/s and drops an idle session after ~6 minutes.
  if (!Number.isFinite(seconds) || seconds < 1 || seconds > 300)
    throw new UsageError(`--interval must be 1..300 seconds (got ${text})`);
  return seconds * 1000;
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
  const ticker = keepAlive(auth, { intervalMs, logger: keepAliveLogger(ctx.options) });
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
