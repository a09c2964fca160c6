import { IbauthError } from "./errors";

/** IBKR documents 86399 s for an access token; without `expires_in`, one hour rather than forever. */
const DEFAULT_SECONDS = 3600;
const MAX_SECONDS = 86_400;
/** Beyond this no reading of the answer makes sense (a year): a broken or hostile server, not a long token. */
const NONSENSE_SECONDS = 366 * 86_400;

/**
 * The access token's lifetime in ms from IBKR's `expires_in`: at most the documented day, so a huge value
 * cannot push an expiry past what a Date holds (1e308 crashed the login) or make a dead token look valid.
 * Zero, negative, non-numeric and absurd values are a protocol error.
 */
export function accessTokenLifetimeMs(expiresIn: number | undefined): number {
  if (expiresIn === undefined) return DEFAULT_SECONDS * 1000;
  if (!Number.isFinite(expiresIn) || expiresIn <= 0 || expiresIn > NONSENSE_SECONDS) {
    throw new IbauthError("IBKR's token answer has an impossible expires_in", {
      code: "ERR_PROTOCOL",
      step: "token",
      hint: `expires_in must be a number of seconds between 1 and ${NONSENSE_SECONDS}; IBKR documents 86399`,
    });
  }
  return Math.min(expiresIn, MAX_SECONDS) * 1000;
}
