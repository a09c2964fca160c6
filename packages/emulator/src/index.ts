// Runtime-agnostic entry: WebCrypto, fetch types and jose only (no node:*, process or Buffer), so the same
// handler runs in Node, workerd, Deno and browsers.

export { CONTROL_ACTIONS, type EmulatorControls, type EmulatorSnapshot } from "./control.js";
export { createEmulator, type Emulator } from "./emulator.js";
export { type ClientKeyPair, generateClientKeys } from "./keys.js";
export { generateOauth1Credentials, MODP_2048_PRIME, type Oauth1Credentials } from "./oauth1-credentials.js";
export { DEFAULT_ENDPOINT_LIMITS, limitKeyFor } from "./pacing.js";
export {
  DEFAULT_SCOPES,
  type EmulatorClient,
  type EmulatorOauth1Consumer,
  type EmulatorOptions,
  type EndpointLimit,
  type FaultKind,
  type FaultSpec,
  type RateLimitOptions,
  type RequestLogEntry,
} from "./types.js";
