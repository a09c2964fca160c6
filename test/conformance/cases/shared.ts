// What several cases share: endpoints, pacing, message helpers.
/**
 * An endpoint that needs only the SSO bearer and is outside IBKR's endpoint table: cases make many
 * calls across several IBAuth instances of one username, which /portfolio/accounts (1 per 5 s per
 * username) would rightly pace to one every five seconds.
 */
export const READ_PATH = "/v1/api/iserver/auth/status";
/** A brokerage endpoint: needs ssodh/init, answers "no bridge" without it. */
export const ISERVER_PATH = "/v1/api/iserver/accounts";
/** IBKR's tickle pacing is 1/s: cases step the virtual clock past it between tickles. */
export const TICKLE_GAP_MS = 1_100;

/** The brokerage flags of a tickle for an assertion message, without the session id (a secret). */
export function brokerageText(t: { authenticated: boolean; connected: boolean; competing: boolean }): string {
  return `authenticated=${t.authenticated} connected=${t.connected} competing=${t.competing}`;
}
