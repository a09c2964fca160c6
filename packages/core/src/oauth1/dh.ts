// Diffie-Hellman over IBKR's 2048-bit MODP group (the portal's dhparam.pem), on BigInt.
import { bigIntToHex, bytesToBigInt, modPow } from "./bigint";

export interface DhChallenge {
  /** The private exponent a: never logged, never stored. */
  secret: bigint;
  /** g^a mod p as lower-case hex without a prefix (the `diffie_hellman_challenge` parameter). */
  challengeHex: string;
}

/** A fresh 256-bit exponent, as ibind and IBKR's samples use. */
export function dhChallenge(prime: bigint, generator: bigint): DhChallenge {
  let secret = 0n;
  while (secret < 2n) secret = bytesToBigInt(crypto.getRandomValues(new Uint8Array(32)));
  return { secret, challengeHex: bigIntToHex(modPow(generator, secret, prime)) };
}

/** K = B^a mod p; refuses the degenerate answers 0, 1 and p-1 (they would fix K whatever a is). */
export function dhSharedSecret(response: bigint, secret: bigint, prime: bigint): bigint {
  if (response <= 1n || response >= prime - 1n)
    throw new RangeError("the Diffie-Hellman response is out of range");
  return modPow(response, secret, prime);
}
