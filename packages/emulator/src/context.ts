import type { Clock } from "./clock.js";
import type { IssuerKey, KeyRing } from "./keys.js";
import type { Oauth1Registry } from "./oauth1.js";
import type { Pacer } from "./pacing.js";
import type { EmulatorState, SsoSession } from "./state.js";
import type { EmulatorClient } from "./types.js";

/** Settings after defaults are applied. */
export interface Settings {
  accessTokenTtlSec: number;
  lstLifetimeSec: number;
  maxAssertionLifetimeSec: number;
  clockSkewSec: number;
  maxSsoLifetimeSec: number;
  revokeEarlierBearers: boolean;
  bridgeDelayMs: number;
}

/** What every handler can reach. */
export interface Env {
  clock: Clock;
  clients: Map<string, EmulatorClient>;
  keys: KeyRing;
  issuer: IssuerKey;
  state: EmulatorState;
  pacer: Pacer | null;
  oauth1: Oauth1Registry | null;
  settings: Settings;
  serverInfo: { MAC: string; serverName: string; serverVersion: string };
}

/** One incoming request, as the handlers see it. */
export interface Call {
  request: Request;
  url: URL;
  method: string;
  path: string;
  ip: string;
  /** Where the server listens (e.g. http://127.0.0.1:5000), when it differs from the URL's Host. */
  localOrigin?: string;
}

/** A /v1/api call that passed the bearer, IP and pacing guard. */
export interface ApiCall extends Call {
  session: SsoSession;
}
