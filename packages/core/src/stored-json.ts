/**
 * A stored value as data: stores hand back JSON text (a file, KV) or the object itself (memory).
 * `undefined` for text that is not JSON, which every reader treats as "nothing usable stored".
 */
export function storedData(value: unknown): { data: unknown } | undefined {
  if (typeof value !== "string") return { data: value };
  try {
    return { data: JSON.parse(value) };
  } catch {
    return undefined;
  }
}
