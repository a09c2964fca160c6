/** IBKR Web API paths used by the auth flow (protocol notes §2). */
export const PATHS = {
  token: "/oauth2/api/v1/token",
  ssoSessions: "/gw/api/v1/sso-sessions",
  ssodhInit: "/v1/api/iserver/auth/ssodh/init",
  validate: "/v1/api/sso/validate",
  tickle: "/v1/api/tickle",
  authStatus: "/v1/api/iserver/auth/status",
  logout: "/v1/api/logout",
  /** OAuth 1.0a: the live session token (protocol notes §7.2). */
  liveSessionToken: "/v1/api/oauth/live_session_token",
} as const;

/** The literal audience IBKR expects in the client assertion: a path, not a URL. */
export const TOKEN_AUDIENCE = "/token";
