/** Stable error codes. Branch on `code`, never on `message`. */
export type IbauthErrorCode =
  | "ERR_CONFIG" // bad options or config file: fix the named field
  | "ERR_KEY" // the private key cannot be read or used
  | "ERR_AUTH" // IBKR refused the credentials, key, client or IP (401/403 at a login step)
  | "ERR_SESSION" // the brokerage session could not be opened or kept (e.g. 410, "no bridge" after re-init)
  | "ERR_HTTP" // any other non-success HTTP answer
  | "ERR_NETWORK" // no HTTP answer: DNS, refused or reset connection
  | "ERR_TIMEOUT" // no answer within timeoutMs
  | "ERR_RATE_LIMITED" // IBKR answered 429, or the SDK is waiting out IBKR's penalty
  | "ERR_PROTOCOL" // IBKR answered 2xx with a body we cannot understand
  | "ERR_STORE" // the session store failed
  | "ERR_ABORTED"; // the caller aborted

/** The step of the flow that failed. */
export type IbauthStep =
  | "config"
  | "key"
  | "token"
  | "lst"
  | "ip"
  | "bearer"
  | "init"
  | "validate"
  | "tickle"
  | "status"
  | "logout"
  | "request"
  | "store";

const BRAND = Symbol.for("ibauth.error");

export interface IbauthErrorOptions {
  code: IbauthErrorCode;
  step: IbauthStep;
  /** HTTP status IBKR answered with, when there was one. */
  status?: number;
  /** IBKR's own error text (`error`, `detail` or `title`), secrets never included. */
  ibkrMessage?: string;
  /** What the user should do about it, when the cause is known. */
  hint?: string;
  /** For ERR_RATE_LIMITED: how long to wait before trying again. */
  retryAfterMs?: number;
  /** For ERR_CONFIG: the option or config key at fault. */
  field?: string;
  cause?: unknown;
  response?: Response;
}

/**
 * The one error type the SDK throws. The message is built from the parts below and never holds a
 * secret: IBKR's message is included, request bodies and headers are not.
 */
export class IbauthError extends Error {
  override readonly name = "IbauthError";
  readonly code: IbauthErrorCode;
  readonly step: IbauthStep;
  readonly status: number | undefined;
  readonly ibkrMessage: string | undefined;
  readonly hint: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly field: string | undefined;
  declare readonly response: Response | undefined;

  constructor(message: string, options: IbauthErrorOptions) {
    const parts = [`${options.step}: ${message}`];
    if (options.status !== undefined)
      parts.push(`(HTTP ${options.status}${options.ibkrMessage ? `: ${options.ibkrMessage}` : ""})`);
    else if (options.ibkrMessage) parts.push(`(${options.ibkrMessage})`);
    let full = parts.join(" ");
    if (options.hint) full += `. ${options.hint}`;
    super(full, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.step = options.step;
    this.status = options.status;
    this.ibkrMessage = options.ibkrMessage;
    this.hint = options.hint;
    this.retryAfterMs = options.retryAfterMs;
    this.field = options.field;
    // Non-enumerable: a logged or JSON-serialised error must not drag the Response along.
    Object.defineProperty(this, "response", { value: options.response, enumerable: false });
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      step: this.step,
      message: this.message,
      status: this.status,
      ibkrMessage: this.ibkrMessage,
      hint: this.hint,
      retryAfterMs: this.retryAfterMs,
      field: this.field,
    };
  }
}

/** True for any IbauthError, even one from another copy of this package (brand check, not instanceof). */
export function isIbauthError(value: unknown): value is IbauthError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
