// Node-only: one-file ESM bundles of test entry points for runtimes that take a single script
// (a bare Miniflare Worker, a browser page). esbuild is the one tsup already installs, so it is
// loaded through tsup rather than added as another dependency.
import { createRequire } from "node:module";
import { ROOT } from "./links";

/** The part of esbuild's API used here (its types are not reachable from this folder). */
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles?: { text: string }[] }>;
}

const esbuild: Esbuild = createRequire(createRequire(`${ROOT}package.json`).resolve("tsup"))("esbuild");

export interface BundleOptions {
  entry: string;
  platform: "browser" | "neutral";
  /** Resolution conditions, e.g. ["workerd", "worker", "browser"] for a Worker. */
  conditions: string[];
  minify?: boolean;
}

export async function bundle(options: BundleOptions): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [options.entry],
    bundle: true,
    write: false,
    format: "esm",
    target: "es2022",
    platform: options.platform,
    conditions: options.conditions,
    mainFields: ["module", "main"],
    minify: options.minify ?? false,
    logLevel: "silent",
  });
  const file = result.outputFiles?.[0];
  if (!file) throw new Error(`esbuild produced no output for ${options.entry}`);
  return file.text;
}

/** Byte sizes of a module: raw and gzip (the figure a CDN would ship). */
export async function sizes(code: string): Promise<{ bytes: number; gzip: number }> {
  const { gzipSync } = await import("node:zlib");
  return { bytes: Buffer.byteLength(code), gzip: gzipSync(code, { level: 9 }).byteLength };
}
