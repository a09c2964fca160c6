import {
  type AuthStatus,
  type BrokerageStatus,
  classifyRecord,
  IbauthError,
  parseSessionRecord,
  RECORD_PROBLEMS,
  type SessionRecord,
  storedRecordProblem,
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

/**
 * connect() trusts a session resumed from the session file (zero requests), but the CLI's user
 * wants proof: a resumed session gets one keepalive tick, which also heals it if IBKR dropped it.
 */
async function connectVerified({ auth }: CliAuth): Promise<AuthStatus> {
  const status = await auth.connect();
  if (status.counters.bearers > 0) return status; // logged in by this run: already proven
  return (await auth.tick()).status;
}

/**
 * sso/validate. IBKR allows one a minute per username: within it the core answers from the session
 * file (same bearer), or waits its turn (a new bearer); the pacing is shared through the store.
 */
async function validateShared({ auth, store }: CliAuth): Promise<{ result: ValidateResult; ageMs?: number }> {
  const started = Date.now();
  const result = await auth.validateSso();
  const at = parseSessionRecord(await store.get())?.validated?.at;
  return at !== undefined && at < started ? { result, ageMs: Date.now() - at } : { result };
}

function validateDetail({ result, ageMs }: { result: ValidateResult; ageMs?: number }): string {
  const age =
    ageMs === undefined
      ? ""
      : ` (answer from ${formatDuration(ageMs)} ago: IBKR allows one validate a minute)`;
  return validateText(result) + age;
}

/** `ibauth` with no command: the Python package's smoke test. */
export async function smokeCommand(ctx: CliContext): Promise<void> {
  const loaded = await loadCliAuth(ctx);
  const { auth, sessionFile } = loaded;
  const out = ctx.output;
  await out.step(
    "connect",
    () => connectVerified(loaded),
    (s) => brokerageText(s.brokerage),
  );
  const { result: validate } = await out.step(
    "validate",
    async () => {
      const answer = await validateShared(loaded);
      requireValid(answer.result);
      return answer;
    },
    validateDetail,
  );
  const tickle = await out.step(
    "tickle",
    async () => requireBrokerage(await auth.tickle()),
    (t) => `idle expiry in ${formatDuration(t.ssoExpires)}`,
  );
  loaded.assertStored();
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
  const loaded = await loadCliAuth(ctx);
  const status = await ctx.output.step(
    "login",
    () => connectVerified(loaded),
    (s) => brokerageText(s.brokerage),
  );
  loaded.assertStored();
  ctx.output.done(`logged in: ${statusText(status)} (session kept in ${loaded.sessionFile})`, {
    command: "login",
    sessionFile: loaded.sessionFile,
    status,
  });
}

/** The stored session; when there is none (not an error of IBKR's) says so, and the command exits 1 without a request. */
async function storedSession(
  ctx: CliContext,
  loaded: CliAuth,
  command: string,
): Promise<SessionRecord | undefined> {
  const stored = await loaded.store.get();
  const record = parseSessionRecord(stored);
  if (record) return record;
  // Without a record's shape there is no owner to compare: missing, corrupt or another version.
  const kind = classifyRecord(stored, "").kind as "missing" | "corrupt" | "unsupported-version";
  const what =
    kind === "missing"
      ? `no session stored in ${loaded.sessionFile}`
      : `the session stored in ${loaded.sessionFile} is ${RECORD_PROBLEMS[kind]}`;
  ctx.output.done(
    `${what}; run \`ibauth login\``,
    {
      command,
      state: "idle",
      sessionFile: loaded.sessionFile,
      ...(kind === "missing" ? {} : { storedRecord: kind }),
    },
    false,
  );
  return undefined;
}

export async function statusCommand(ctx: CliContext): Promise<number> {
  const loaded = await loadCliAuth(ctx);
  const { auth } = loaded;
  const record = await storedSession(ctx, loaded, "status");
  if (!record) return 1;
  const answer = await ctx.output.step("validate", () => validateShared(loaded), validateDetail);
  let valid = answer.result.valid;
  let tickle: TickleResult | undefined;
  if (answer.ageMs !== undefined && valid) {
    // IBKR allows one validate a minute, so that answer is cached and the session may have died
    // since: a tickle (allowed once a second) says whether it is alive now.
    tickle = await ctx.output.step("tickle", () => auth.tickle(), brokerageText);
    valid = tickle.authenticated;
  }
  const status = auth.status();
  // A record of another configuration is only known once the core compared owners (it warned, and logged in).
  const problem = storedRecordProblem(loaded.store);
  const replaced = problem ? ` (the stored record was ${RECORD_PROBLEMS[problem]}: replaced)` : "";
  const cached =
    answer.ageMs === undefined
      ? ""
      : ` (validate answer cached from ${formatDuration(answer.ageMs)} ago; checked by a tickle just now)`;
  ctx.output.done(
    `${valid ? "session valid" : "session NOT valid"}: ${statusText(status)}${valid ? cached : ""}${replaced}`,
    {
      command: "status",
      sessionFile: loaded.sessionFile,
      ...(problem ? { storedRecord: problem } : {}),
      valid,
      validate: answer.result,
      ...(answer.ageMs === undefined ? {} : { validateCachedMs: answer.ageMs }),
      ...(tickle ? { tickle: publicTickle(tickle) } : {}),
      status,
    },
    valid,
  );
  return valid ? 0 : 1;
}

/** One keepalive step on the stored session (cron-friendly): tickles, and heals what the tickle reveals. */
export async function tickleCommand(ctx: CliContext): Promise<number> {
  const loaded = await loadCliAuth(ctx);
  if (!(await storedSession(ctx, loaded, "tickle"))) return 1;
  const { action, status } = await ctx.output.step(
    "tickle",
    () => loaded.auth.tick(),
    (t) => `${brokerageText(t.status.brokerage)}${t.action === "tickled" ? "" : ` (healed: ${t.action})`}`,
  );
  loaded.assertStored();
  ctx.output.done(`tickled: ${statusText(status)}`, { command: "tickle", action, status });
  return 0;
}

export async function logoutCommand(ctx: CliContext): Promise<void> {
  const loaded = await loadCliAuth(ctx);
  if (!parseSessionRecord(await loaded.store.get())) {
    ctx.output.done("no session to log out of", { command: "logout", loggedOut: false });
    return;
  }
  // The core also deletes the stored record, so the next run starts clean.
  await ctx.output.step("logout", () => loaded.auth.logout());
  loaded.assertStored();
  ctx.output.done("logged out", { command: "logout", loggedOut: true });
}
