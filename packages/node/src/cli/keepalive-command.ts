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

/** `ibauth keepalive`: log in, tick until SIGINT/SIGTERM, then log out and exit 0. */
export async function keepaliveCommand(ctx: CliContext): Promise<void> {
  const intervalMs = parseInterval(ctx.options.interval);
  const { auth } = await loadCliAuth(ctx);
  await ctx.output.step(
    "login",
    () => auth.connect(),
    (s) => brokerageText(s.brokerage),
  );
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
