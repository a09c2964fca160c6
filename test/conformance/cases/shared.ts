// What several cases share: endpoints, pacing, message helpers.
/** An account endpoint that needs only the SSO bearer (read-only session). */
export const READ_PATH = "/v1/api/portfolio/accounts";
/** A brokerage endpoint: needs ssodh/init, answers "no bridge" without it. */
export const ISERVER_PATH = "/v1/api/iserver/accounts";
/** IBKR's tickle pacing is 1/s: cases step the virtual clock past it between tickles. */
export const TICKLE_GAP_MS = 1_100;

/** The brokerage flags of a tickle for an assertion message, without the session id (a secret). */
export function brokerageText(t: { authenticated: boolean; connected: boolean; competing: boolean }): string {
  return `authenticated=${t.authenticated} connected=${t.connected} competing=${t.competing}`;
}
