/** What test/node/global-setup.ts (Node) hands to test/bare.test.ts (workerd). */
export interface BareRun {
  workerUrl: string;
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
