/** "pnpm@12.4.2", from the root package.json's packageManager field. */
export declare const PNPM: string;
/** ["pnpm"] or ["npx", "--yes", "pnpm@12.4.2"]. */
export declare function pnpmCommand(): string[];
/** `env` with a PATH whose `pnpm` is the pinned one (a shim through npx when pnpm is not installed). */
export declare function envWithPnpm(env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
