// What "no runtime imports" means for the core's build: any of these in packages/core/dist means the
// core reaches for Node, Deno or Cloudflare instead of taking what it needs by injection.
export const RUNTIME_PATTERNS: [string, RegExp][] = [
  ["node: or cloudflare: import", /["'`](node|cloudflare):[\w/.-]*["'`]/],
  [
    "bare Node builtin import",
    /\b(from|import)\s*\(?\s*["'](fs|path|os|crypto|http|https|net|tls|stream|buffer|util|url|events|child_process|zlib|worker_threads)["']/,
  ],
  ["require()", /\brequire\s*\(\s*["']/],
  [
    "process",
    /\b(globalThis\s*\.\s*)?process\s*\.\s*(env|versions?|nextTick|exit|platform|argv|cwd|hrtime|on|emitWarning|stdout|stderr)\b/,
  ],
  ["Buffer", /\bBuffer\s*\.\s*(from|alloc|allocUnsafe|isBuffer|byteLength|concat)\b|\bnew\s+Buffer\s*\(/],
  ["Deno", /\bDeno\s*\.\s*\w+/],
];

/**
 * Code without comments that start a line (block or //): docs may name `process.env` for the user.
 * Only line-leading ones, so a string such as "*\/*" cannot start a "comment" that hides code.
 */
export function stripComments(text: string): string {
  return text.replace(/^\s*\/\*[\s\S]*?\*\//gm, "").replace(/^\s*\/\/.*$/gm, "");
}

/** Each pattern's name with the first offending line of code, for every pattern the code matches. */
export function runtimeUsages(text: string): string[] {
  const found: string[] = [];
  const lines = stripComments(text).split("\n");
  for (const [name, pattern] of RUNTIME_PATTERNS) {
    const line = lines.find((l) => pattern.test(l));
    if (line !== undefined) found.push(`${name}: ${line.trim().slice(0, 160)}`);
  }
  return found;
}
