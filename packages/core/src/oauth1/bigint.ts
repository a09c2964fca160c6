// Unsigned big-endian byte and hex conversions on BigInt, for the RSA decryption and the Diffie-Hellman
// exchange of OAuth 1.0a (the exponentiation itself is in modpow.ts).

export function hexToBigInt(hex: string): bigint {
  const clean = hex.trim().replace(/^0x/i, "");
  if (!/^[0-9a-f]+$/i.test(clean)) throw new TypeError("not a hexadecimal number");
  return BigInt(`0x${clean}`);
}

/** Lower-case hex without a prefix or leading zeros ("0" for zero), as Python's hex(n)[2:]. */
export function bigIntToHex(n: bigint): string {
  return n.toString(16);
}

export function bytesToHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  const even = hex.length % 2 ? `0${hex}` : hex;
  const out = new Uint8Array(even.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(even.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytesToHex(bytes)}`);
}

/** Big-endian, left-padded to `length` bytes (I2OSP); throws if the number does not fit. */
export function bigIntToBytes(n: bigint, length: number): Uint8Array {
  const bytes = hexToBytes(bigIntToHex(n));
  if (bytes.length > length) throw new RangeError("integer too large");
  const out = new Uint8Array(length);
  out.set(bytes, length - bytes.length);
  return out;
}

/**
 * Java's BigInteger.toByteArray for a non-negative number: the minimal two's-complement form, so a
 * 0x00 byte leads whenever the top bit of the first byte is set. IBKR keys the LST HMAC with this.
 */
export function signedBytes(n: bigint): Uint8Array {
  const bytes = hexToBytes(bigIntToHex(n));
  if (((bytes[0] ?? 0) & 0x80) === 0) return bytes;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes, 1);
  return out;
}

export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}
