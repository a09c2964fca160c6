import type { LeaseResult } from "./lease";

/** Requests that create IBKR sessions: only the holder of the login lease may send them. */
const LOGIN_PATHS = ["/oauth2/api/v1/token", "/gw/api/v1/sso-sessions", "/v1/api/iserver/auth/ssodh/init"];

function requestPath(input: RequestInfo | URL): string {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  try {
    return new URL(url).pathname;
  } catch {
    return "";
  }
}

export function isLoginRequest(input: RequestInfo | URL): boolean {
  const path = requestPath(input);
  return LOGIN_PATHS.some((p) => path === p || path.endsWith(p));
}

/**
 * Thrown into the core when another isolate holds the lease, or the login brake holds (`reason`); the
 * operation then ends without a login. `heldUntil` is when trying again makes sense.
 */
export class LeaseHeldError extends Error {
  override readonly name = "LeaseHeldError";
  constructor(
    readonly heldUntil: number,
    readonly reason: "lease" | "brake" = "lease",
  ) {
    super(reason === "lease" ? "another isolate holds the IBKR login lease" : "the login brake holds");
  }
}

export interface LoginGate {
  fetch: typeof fetch;
  /** Set once a login request was refused because another isolate holds the lease. */
  readonly lost: LeaseHeldError | undefined;
  readonly acquired: boolean;
  /** Gives the lease back if this operation took it. */
  release(): Promise<void>;
}

/**
 * Wraps the fetch the core uses: tickles and other reads pass straight through, and the first
 * login-class request of an operation takes the lease (one KV write). A plain keepalive tick therefore
 * never writes to KV, and a second isolate that needs to log in at the same moment backs off.
 */
export function loginGate(inner: typeof fetch, acquire: () => Promise<LeaseResult>): LoginGate {
  let decision: Promise<LeaseResult> | undefined;
  let lost: LeaseHeldError | undefined;
  let acquired = false;
  const gated = (async (input: RequestInfo | URL, init?: RequestInit) => {
    if (isLoginRequest(input)) {
      decision ??= acquire();
      const result = await decision;
      if (!result.won) {
        lost = new LeaseHeldError(result.heldUntil, result.braked ? "brake" : "lease");
        throw lost;
      }
      acquired = true;
    }
    return inner(input, init);
  }) as typeof fetch;
  return {
    fetch: gated,
    async release() {
      const result = await decision;
      if (result?.won) await result.release();
    },
    get lost() {
      return lost;
    },
    get acquired() {
      return acquired;
    },
  };
}
