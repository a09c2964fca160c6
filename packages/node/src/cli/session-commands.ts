import {
  type AuthStatus,
  type BrokerageStatus,
  IbauthError,
  parseSessionRecord,
  type TickleResult,
  type ValidateResult,
} from "@ibauth/core";
import { type CliAuth, type CliContext, loadCliAuth } from "./context";
import { formatDuration } from "./output";

export function brokerageText(b: BrokerageStatus | undefined): string {
  if (!b) return "brokerage unknown";
  const flags = [
    b.authenticated ? "authenticated" : "NOT authenticated",
    b.connected ? "connected" : "disconnected",
  ];
  if (b.competing) flags.push("competing with another session");
  return `brokerage ${flags.join(", ")}`;
}

export function statusText(s: AuthStatus): string {
  const parts = [s.state, s.origin];
  if (s.ip) parts.push(`ip ${s.ip}`);
  if (s.brokerage) parts.push(brokerageText(s.brokerage));
  if (s.ssoExpiresMs !== undefined) parts.push(`idle expiry in ${formatDuration(s.ssoExpiresMs)}`);
  return parts.join(" · ");
}

/** The tickle answer without `session`, which is the WebSocket cookie and so a secret. */
export function publicTickle(t: TickleResult): Omit<TickleResult, "session"> {
  const { session: _secret, ...rest } = t;
  return rest;
}

function validateText(v: ValidateResult): string {
  const parts = [v.valid ? "valid" : "NOT valid"];
  if (v.paper !== undefined) parts.push(v.paper ? "paper" : "live");
  if (v.expiresMs !== undefined) parts.push(`expires in ${formatDuration(v.expiresMs)} if idle`);
  return parts.join(", ");
}

function requireValid(v: ValidateResult): ValidateResult {
  if (!v.valid) {
    throw new IbauthError("IBKR says the SSO session is not valid", {
      code: "ERR_SESSION",
      step: "validate",
      hint: "run `ibauth login` again",
    });
  }
  return v;
}

function requireBrokerage(t: TickleResult): TickleResult {
  if (!t.authenticated) {
    throw new IbauthError("the brokerage session is not authenticated", {
      code: "ERR_SESSION",
      step: "tickle",
      hint: t.competing
        ? "another session (TWS, Client Portal, mobile) holds this username; log it out or use a second username"
        : "run `ibauth login` again",
    });
  }
  return t;
}

/** `ibauth` with no command: the Python package's smoke test. */
export async function smokeCommand(ctx: CliContext): Promise<void> {
  const { auth, sessionFile } = await loadCliAuth(ctx);
  const out = ctx.output;
  await out.step(
    "connect",
    () => auth.connect(),
    (s) => brokerageText(s.brokerage),
  );
  const validate = await out.step(
    "validate",
    async () => requireValid(await auth.validateSso()),
    validateText,
  );
  const tickle = await out.step(
    "tickle",
    async () => requireBrokerage(await auth.tickle()),
    (t) => `idle expiry in ${formatDuration(t.ssoExpires)}`,
  );
  const status = auth.status();
  out.done(`session ok: ${statusText(status)}`, {
    command: "smoke",
    sessionFile,
    validate,
    tickle: publicTickle(tickle),
    status,
  });
}

export async function loginCommand(ctx: CliContext): Promise<void> {
  const { auth, sessionFile } = await loadCliAuth(ctx);
  const status = await ctx.output.step(
    "login",
    () => auth.connect(),
    (s) => brokerageText(s.brokerage),
  );
  ctx.output.done(`logged in: ${statusText(status)} (session kept in ${sessionFile})`, {
    command: "login",
    sessionFile,
    status,
  });
}

/** No stored session is not an error of IBKR's: say so and exit 1 without a request. */
async function requireStoredSession(ctx: CliContext, loaded: CliAuth, command: string): Promise<boolean> {
  if (parseSessionRecord(await loaded.store.get())) return true;
  ctx.output.done(
    `no session stored in ${loaded.sessionFile}; run \`ibauth login\``,
    { command, state: "idle", sessionFile: loaded.sessionFile },
    false,
  );
  return false;
}

export async function statusCommand(ctx: CliContext): Promise<number> {
  const loaded = await loadCliAuth(ctx);
  if (!(await requireStoredSession(ctx, loaded, "status"))) return 1;
  const validate = await ctx.output.step("validate", () => loaded.auth.validateSso(), validateText);
  const status = loaded.auth.status();
  ctx.output.done(
    `${validate.valid ? "session valid" : "session NOT valid"}: ${statusText(status)}`,
    { command: "status", sessionFile: loaded.sessionFile, validate, status },
    validate.valid,
  );
  return validate.valid ? 0 : 1;
}

export async function tickleCommand(ctx: CliContext): Promise<number> {
  const loaded = await loadCliAuth(ctx);
  if (!(await requireStoredSession(ctx, loaded, "tickle"))) return 1;
  const tickle = await ctx.output.step(
    "tickle",
    () => loaded.auth.tickle(),
    (t) => brokerageText(t),
  );
  ctx.output.done(
    `tickled: ${brokerageText(tickle)}, idle expiry in ${formatDuration(tickle.ssoExpires)}`,
    { command: "tickle", tickle: publicTickle(tickle), status: loaded.auth.status() },
    tickle.authenticated,
  );
  return tickle.authenticated ? 0 : 1;
}

export async function logoutCommand(ctx: CliContext): Promise<void> {
  const loaded = await loadCliAuth(ctx);
  if (!parseSessionRecord(await loaded.store.get())) {
    ctx.output.done("no session to log out of", { command: "logout", loggedOut: false });
    return;
  }
  // The core also deletes the stored record, so the next run starts clean.
  await ctx.output.step("logout", () => loaded.auth.logout());
  ctx.output.done("logged out", { command: "logout", loggedOut: true });
}
