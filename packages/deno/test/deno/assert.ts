// The few assertions these tests need. node:assert would pull @types/node into `deno check`, and
// with nodeModulesDir "manual" Deno finds it only in this package's node_modules, where it is not.

export class AssertionError extends Error {
  override name = "AssertionError";
}

function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

export function ok(value: unknown, message?: string): asserts value {
  if (!value) throw new AssertionError(message ?? `expected a truthy value, got ${show(value)}`);
}

export function equal<T>(actual: T, expected: T, message?: string): void {
  if (!Object.is(actual, expected)) {
    throw new AssertionError(message ?? `expected ${show(expected)}, got ${show(actual)}`);
  }
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function deepEqual(actual: unknown, expected: unknown, message?: string): void {
  if (!same(actual, expected)) {
    throw new AssertionError(message ?? `expected ${show(expected)},\n     got ${show(actual)}`);
  }
}

export function match(text: string, pattern: RegExp, message?: string): void {
  if (!pattern.test(text)) throw new AssertionError(message ?? `expected ${show(text)} to match ${pattern}`);
}

type Check = RegExp | ((error: unknown) => boolean);

function check(error: unknown, expected: Check | undefined): void {
  if (expected instanceof RegExp) match(error instanceof Error ? error.message : String(error), expected);
  else if (expected && !expected(error)) throw new AssertionError(`unexpected error: ${show(error)}`);
}

export function throws(fn: () => unknown, expected?: Check): void {
  try {
    fn();
  } catch (error) {
    check(error, expected);
    return;
  }
  throw new AssertionError("expected the call to throw");
}

export async function rejects(fn: () => Promise<unknown>, expected?: Check): Promise<void> {
  try {
    await fn();
  } catch (error) {
    check(error, expected);
    return;
  }
  throw new AssertionError("expected the promise to reject");
}
