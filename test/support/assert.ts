// A tiny assert helper with no runtime dependencies, so the suite runs unchanged in Node, workerd,
// Deno and browsers (vitest's expect is not available inside workerd-bare or a page).

export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function equal<T>(actual: T, expected: T, message: string): void {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(`${message}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

export function match(actual: string | undefined, pattern: RegExp, message: string): void {
  if (actual === undefined || !pattern.test(actual)) {
    throw new AssertionError(`${message}: expected to match ${pattern}, got ${show(actual)}`);
  }
}

/** Runs `fn`, which must throw; returns what it threw. */
export async function rejects(fn: () => unknown, message: string): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new AssertionError(`${message}: expected an error, none was thrown`);
}

function show(value: unknown): string {
  try {
    return typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}
