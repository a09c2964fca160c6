import { type IbauthError, isIbauthError } from "@ibauth/core";

/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, ibkr: 1, usage: 2, network: 3, internal: 4, interrupted: 130 } as const;

/** Bad command line: exit 2 with the usage hint (the command's own help when `command` is known). */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/**
 * An ordinary problem with this machine, not with ibauth: a port in use, a folder under a file.
 * One line naming the port or path and the errno; exit 2.
 */
export class LocalError extends Error {
  override readonly name = "LocalError";
  constructor(
    message: string,
    readonly errno?: string,
  ) {
    super(message);
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOTDIR: "a part of the path is a file, not a folder",
  ENOENT: "no such file or folder",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EEXIST: "it already exists",
  EISDIR: "it is a folder",
  EADDRINUSE: "the port is in use",
  EADDRNOTAVAIL: "no such address on this machine",
};

/** `cannot create the folder /a/b: a part of the path is a file, not a folder (ENOTDIR)`, and what to do. */
export function localError(action: string, error: unknown, fix?: string): LocalError {
  const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
  return new LocalError(
    `cannot ${action}: ${ERRNO_TEXT[code] ?? code} (${code})${fix ? `; ${fix}` : ""}`,
    code,
  );
}

/** A Node system error (it has `syscall` and an errno `code`) that no command mapped: still the user's environment. */
function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  const e = error as NodeJS.ErrnoException | undefined;
  return e instanceof Error && typeof e.syscall === "string" && typeof e.code === "string";
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof LocalError || isSystemError(error)) return EXIT.usage;
  if (!isIbauthError(error)) return EXIT.internal;
  switch (error.code) {
    case "ERR_CONFIG":
    case "ERR_KEY":
    case "ERR_STORE":
      return EXIT.usage;
    case "ERR_NETWORK":
    case "ERR_TIMEOUT":
      return EXIT.network;
    default:
      return EXIT.ibkr;
  }
}

/**
 * What to do about IBKR's answer, when the core had no hint of its own. Keyed by step and status,
 * from IBKR's onboarding notes (401 at the token = the key; 403 at sso-sessions = the username).
 */
function fallbackHint(error: IbauthError): string | undefined {
  if (error.hint) return undefined;
  const { step, status } = error;
  if (step === "token" && (status === 400 || status === 401)) {
    return "IBKR rejected the signed client assertion: check client_id and client_key_id, and that private_key_file is the key whose public half IBKR registered (`ibauth check` prints its fingerprint)";
  }
  if (step === "bearer" && status === 403) {
    return "IBKR rejected the credential: use the IBKR username of this account (a paper account has its own paper username)";
  }
  if ((step === "init" || step === "tickle" || step === "request" || step === "validate") && status === 401) {
    return "IBKR refused the session: if the tokens were just issued, the ip claim probably does not match this machine's public IP (set ip or alternative_ips)";
  }
  return undefined;
}

/** The one line a user sees. IbauthError messages are secret-free by contract; foreign errors show only their type. */
export function describeFailure(error: unknown): { message: string; json: Record<string, unknown> } {
  if (error instanceof UsageError) {
    const message = `${error.message} (see ibauth ${error.command ? `help ${error.command}` : "--help"})`;
    return { message, json: { code: "ERR_USAGE", message } };
  }
  if (isIbauthError(error)) {
    const hint = fallbackHint(error);
    const message = hint ? `${error.message}. ${hint}` : error.message;
    return { message, json: { ...error.toJSON(), message, ...(hint ? { hint } : {}) } };
  }
  if (error instanceof LocalError) {
    return {
      message: error.message,
      json: { code: "ERR_LOCAL", errno: error.errno, message: error.message },
    };
  }
  if (isSystemError(error)) {
    // Node's message names the syscall and the path (never file contents): "ENOTDIR: not a directory, mkdir '/a/b'".
    const message = error.message.split("\n")[0]!;
    return { message, json: { code: "ERR_LOCAL", errno: error.code, message } };
  }
  const name = error instanceof Error ? error.name : typeof error;
  return {
    message: `unexpected ${name}; this is a bug in ibauth, please report it (run with --debug for the step trail)`,
    json: { code: "ERR_UNEXPECTED", name },
  };
}

/** Ctrl-C: one line naming the step it cut short (nothing was logged out: the session stays usable). */
export function interruptedFailure(step: string | undefined): {
  message: string;
  json: Record<string, unknown>;
} {
  const message = `interrupted (Ctrl-C)${step ? ` during ${step}` : ""}`;
  return { message, json: { code: "ERR_INTERRUPTED", message, ...(step ? { step } : {}) } };
}

/** The --debug detail of a failure: code, step, status, and the causes' types and errno codes; never a stack. */
export function debugTrail(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { name?: string; code?: string; step?: string; status?: number; cause?: unknown };
    const fields = [e.name, e.code, e.step && `step=${e.step}`, e.status && `status=${e.status}`].filter(
      Boolean,
    );
    parts.push(fields.join(" "));
    current = e.cause;
  }
  return `debug: ${parts.join(" <- ")}`;
}
