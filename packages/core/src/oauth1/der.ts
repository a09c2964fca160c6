// Just enough DER to read RSA private keys (PKCS#1, PKCS#8) and DH parameters (PKCS#3).
import { bytesToBigInt } from "./bigint";

/** A reader over one level of DER: each read() takes the next element with the expected tag. */
export class Der {
  #at = 0;
  constructor(readonly bytes: Uint8Array) {}
  /** Reads one TLV with the expected tag and returns its contents. */
  read(tag: number): Uint8Array {
    const b = this.bytes;
    if (b[this.#at] !== tag) throw new Error("unexpected DER tag");
    let length = b[this.#at + 1] ?? 0;
    let at = this.#at + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 4) throw new Error("unsupported DER length");
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (b[at++] ?? 0);
    }
    if (at + length > b.length) throw new Error("truncated DER");
    this.#at = at + length;
    return b.subarray(at, at + length);
  }
  integer(): bigint {
    const raw = this.read(0x02);
    if (raw.length === 0 || (raw[0] ?? 0) & 0x80) throw new Error("negative or empty DER integer");
    return bytesToBigInt(raw);
  }
}
