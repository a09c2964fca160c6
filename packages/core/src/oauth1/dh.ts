// Diffie-Hellman over IBKR's 2048-bit MODP group (the portal's dhparam.pem), on BigInt.
import { bigIntToHex, bytesToBigInt } from "./bigint";
import { FixedBasePow, modPow } from "./modpow";

export interface DhChallenge {
  /** The private exponent a: never logged, never stored. */
  secret: bigint;
  /** g^a mod p as lower-case hex without a prefix (the `diffie_hellman_challenge` parameter). */
  challengeHex: string;
}

const EXPONENT_BITS = 256;

/**
 * g and p are the same for every login of a process (the portal registers one prime per consumer), so the
 * fixed-base powers of g are kept for the last group used: the challenge then costs ~90 multiplications
 * instead of ~320. They are public values derived from public parameters.
 */
let group: FixedBasePow | undefined;
function generatorPow(prime: bigint, generator: bigint): FixedBasePow {
  if (group?.modulus !== prime || group.base !== generator)
    group = new FixedBasePow(generator, prime, EXPONENT_BITS);
  return group;
}

/** A fresh 256-bit exponent, as ibind and IBKR's samples use. */
export function dhChallenge(prime: bigint, generator: bigint): DhChallenge {
  let secret = 0n;
  while (secret < 2n) secret = bytesToBigInt(crypto.getRandomValues(new Uint8Array(EXPONENT_BITS / 8)));
  return { secret, challengeHex: bigIntToHex(generatorPow(prime, generator).pow(secret)) };
}

/** K = B^a mod p; refuses the degenerate answers 0, 1 and p-1 (they would fix K whatever a is). */
export function dhSharedSecret(response: bigint, secret: bigint, prime: bigint): bigint {
  if (response <= 1n || response >= prime - 1n)
    throw new RangeError("the Diffie-Hellman response is out of range");
  return modPow(response, secret, prime);
}
