/** What test/durable/node/global-setup.ts (Node) hands to the Durable Object tests (workerd). */
export interface DurableRun {
  /** The emulator over HTTP on 127.0.0.1; users reach it under /u<N>/ (see test/durable/world.ts). */
  emulatorUrl: string;
  /** GET /requests: the emulator's request log (method, path, status, caller IP, time). */
  labUrl: string;
  publicKeyPem: string;
  privateKeyPem: string;
  sessionKey: string;
  example: { wranglerExit: number | null; wranglerOutput: string; bytes: number; gzipBytes: number };
  /** OAuth 1.0a credentials of user `ssp` (Self-Service Portal), registered with the emulator. */
  oauth1: {
    consumerKey: string;
    accessToken: string;
    accessTokenSecret: string;
    signatureKey: string;
    encryptionKey: string;
    dhPrime: string;
    /** The plaintext secret as IBKR holds it (base64): a canary. */
    plainSecret: string;
  };
  /** That bundle in a bare Miniflare (no nodejs_compat), user `solo`, against the emulator over HTTP. */
  bare: { url: string; error: string; apiKey: string };
}

declare module "vitest" {
  export interface ProvidedContext {
    durable: DurableRun;
  }
}
