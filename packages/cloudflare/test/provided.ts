/** What test/node/global-setup.ts (Node) hands to test/bare.test.ts (workerd). */
export interface BareRun {
  workerUrl: string;
  /** The same bundle configured for OAuth 1.0a (IBKR_OAUTH1_*), at the same emulator, with the same API key. */
  oauth1WorkerUrl: string;
  startError: string;
  emulatorUrl: string;
  apiKey: string;
  bundle: {
    bytes: number;
    gzipBytes: number;
    nodeImports: number;
    wranglerExit: number | null;
    wranglerOutput: string;
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    bare: BareRun;
  }
}
