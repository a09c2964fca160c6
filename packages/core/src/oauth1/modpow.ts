// Modular exponentiation on BigInt for the RSA decryption and the Diffie-Hellman exchange of OAuth 1.0a
// (WebCrypto offers neither). BigInt's `%` costs about as much as Montgomery or Barrett reduction built
// from BigInt shifts and masks (measured in V8), so the savings come from doing fewer multiplications.
//
// Timing: BigInt arithmetic is not constant-time, and neither are the windows below. They run on the
// access-token secret once per process (a secret at rest, decrypted locally; no oracle answers anyone)
// and on a fresh 256-bit DH exponent per live session token, so a side channel has nothing to measure.

/** The window width k with the fewest multiplications besides the squarings: ~bits/(k+1) + 2^(k-1) precomputed. */
function windowWidth(bits: number): number {
  let best = 1;
  for (let k = 2; k <= 7; k++)
    if (bits / (k + 1) + 2 ** (k - 1) < bits / (best + 1) + 2 ** (best - 1)) best = k;
  return best;
}

/** base^exp mod m, left to right with a sliding window over the exponent's bits (HAC algorithm 14.85). */
export function modPow(base: bigint, exp: bigint, m: bigint): bigint {
  if (m <= 0n || exp < 0n) throw new RangeError("modPow needs m > 0 and exp >= 0");
  if (m === 1n) return 0n;
  const b = ((base % m) + m) % m;
  const bits = exp.toString(2);
  const k = windowWidth(bits.length);
  // the odd powers b, b^3, …, b^(2^k - 1)
  const odd: bigint[] = [b];
  if (k > 1) {
    const b2 = (b * b) % m;
    for (let i = 1; i < 1 << (k - 1); i++) odd.push(((odd[i - 1] as bigint) * b2) % m);
  }
  let r = 1n;
  let i = 0;
  while (i < bits.length) {
    if (bits[i] === "0") {
      r = (r * r) % m;
      i++;
      continue;
    }
    // the longest run of at most k bits from i that ends in a 1
    let j = Math.min(i + k, bits.length) - 1;
    while (bits[j] === "0") j--;
    // squaring 1 is 1: skip the leading squarings (r is 1 only before the first window, or by chance)
    if (r !== 1n) for (let s = i; s <= j; s++) r = (r * r) % m;
    r = (r * (odd[Number.parseInt(bits.slice(i, j + 1), 2) >> 1] as bigint)) % m;
    i = j + 1;
  }
  return r;
}

/**
 * g^e mod p for one fixed g and p and exponents of up to `maxBits` bits: the powers g^(16^i) are computed
 * once, and each exponentiation is then about maxBits/4 + 30 multiplications and no squarings (Yao's
 * fixed-base windowing, HAC algorithm 14.109), against about 1.2 × maxBits for modPow. A longer exponent
 * falls back to modPow.
 */
export class FixedBasePow {
  readonly base: bigint;
  readonly modulus: bigint;
  /** powers[i] = g^(16^i) mod p */
  readonly #powers: bigint[] = [];

  constructor(base: bigint, modulus: bigint, maxBits: number) {
    if (modulus <= 1n) throw new RangeError("FixedBasePow needs a modulus > 1");
    this.base = base;
    this.modulus = modulus;
    let x = ((base % modulus) + modulus) % modulus;
    for (let i = 0; i < Math.ceil(maxBits / 4); i++) {
      this.#powers.push(x);
      for (let s = 0; s < 4; s++) x = (x * x) % modulus;
    }
  }

  pow(exp: bigint): bigint {
    const hex = exp >= 0n ? exp.toString(16) : "";
    if (hex.length === 0 || hex.length > this.#powers.length) return modPow(this.base, exp, this.modulus);
    const m = this.modulus;
    // by digit value d: the i (from the least significant hex digit) whose digit is d
    const byDigit: number[][] = Array.from({ length: 16 }, () => []);
    for (let i = 0; i < hex.length; i++)
      byDigit[Number.parseInt(hex[hex.length - 1 - i] as string, 16)]?.push(i);
    // product over d of (product of g^(16^i) with digit d)^d, as a running product taken 15, 14, …, 1 times
    let a = 1n;
    let b = 1n;
    for (let d = 15; d >= 1; d--) {
      for (const i of byDigit[d] as number[])
        b = b === 1n ? (this.#powers[i] as bigint) : (b * (this.#powers[i] as bigint)) % m;
      if (b !== 1n) a = a === 1n ? b : (a * b) % m;
    }
    return a;
  }
}
