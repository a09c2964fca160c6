/**
 * Checks that catch keys nobody generated randomly (`aaaa…`, 32 zero bytes, a word repeated); they do not
 * measure true strength, only refuse what is surely weak. The thresholds sit far below what the
 * documented generators give (`openssl rand -base64 32`: about 190 bits by this count; `-hex 12`: ~80).
 */

/** The text's empirical entropy in bits (character frequencies times length). */
function entropyBits(text: string): number {
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  const n = [...text].length;
  let bits = 0;
  for (const count of counts.values()) bits -= count * Math.log2(count / n);
  return bits;
}

const MIN_API_KEY_BITS = 64;

/** What is wrong with an API key, or undefined. Never includes the key. */
export function apiKeyProblem(key: string, minLength: number): string | undefined {
  if (/\s/.test(key))
    return "contains whitespace: callers send it in a header that ends at a space, so it can never match";
  if (key.length < minLength)
    return `too short: use at least ${minLength} random characters (openssl rand -base64 32)`;
  if (entropyBits(key) < MIN_API_KEY_BITS) return "not random: use openssl rand -base64 32";
  return undefined;
}

/** 32 random bytes repeat few values; a key with fewer than 16 distinct bytes was not drawn at random. */
export function looksRandom(bytes: Uint8Array): boolean {
  return new Set(bytes).size >= 16;
}
