/** The `error` texts IBKR answers /iserver/* with when there is no brokerage session (protocol notes §3.4, §5). */
const NO_BRIDGE_ERROR = /^(bad request: )?no bridge$/i;

/**
 * True only for IBKR's own "no bridge" answer: a 400 whose JSON body's `error` is exactly "no bridge" or
 * "Bad Request: no bridge". Not a substring anywhere in the body: endpoints echo caller input
 * (`?symbol=no bridge`), and a match would let that input re-open, and with `compete`, take, the session.
 */
export function isNoBridgeAnswer(status: number, body: string): boolean {
  if (status !== 400) return false;
  let data: unknown;
  try {
    data = JSON.parse(body);
  } catch {
    return false;
  }
  const error = typeof data === "object" && data !== null ? (data as { error?: unknown }).error : undefined;
  return typeof error === "string" && NO_BRIDGE_ERROR.test(error.trim());
}
