// `node test/bench/modpow.mjs [runs]`: CPU of the BigInt exponentiations behind an OAuth 1.0a login, per
// operation, median of `runs` (default 101) after a warm-up, printed as one markdown table:
// - the 2048-bit DH challenge g^a (256-bit a), by modPow and by the fixed-base powers dh.ts keeps;
// - the 2048-bit DH shared secret B^a;
// - one CRT half of RSA decryption (1024-bit for a 2048-bit key, 1536-bit for 3072) and a whole decryption;
// each beside the 4-bit fixed window modPow used before, kept here as the reference to compare with.
// The core's source is bundled with esbuild (tsup's dependency) so unexported functions can be timed.
import {
  constants,
  createDiffieHellmanGroup,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
} from "node:crypto";
import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join } from "node:path";
import { root } from "../faults/workspace-packages.mjs";

const runs = Number(process.argv[2] ?? 101);
const esbuild = createRequire(realpathSync(join(root, "node_modules/tsup/package.json")))("esbuild");
const src = join(root, "packages/core/src/oauth1");
const built = await esbuild.build({
  stdin: {
    contents: `export * from "./modpow"; export * from "./rsa-decrypt"; export * from "./bigint";`,
    resolveDir: src,
    loader: "ts",
  },
  bundle: true,
  write: false,
  format: "esm",
  platform: "neutral",
});
const m = await import(
  `data:text/javascript;base64,${Buffer.from(built.outputFiles[0].text).toString("base64")}`
);

/** The modPow before this bench existed: left to right, 4-bit fixed window. */
function fixedWindow4(base, exp, mod) {
  const b = ((base % mod) + mod) % mod;
  const table = [1n, b];
  for (let i = 2; i < 16; i++) table.push((table[i - 1] * b) % mod);
  let r = 1n;
  for (const digit of exp.toString(16)) {
    r = (r * r) % mod;
    r = (r * r) % mod;
    r = (r * r) % mod;
    r = (r * r) % mod;
    const d = Number.parseInt(digit, 16);
    if (d) r = (r * table[d]) % mod;
  }
  return r;
}

const big = (bytes) => m.bytesToBigInt(randomBytes(bytes));
/** Median CPU ms of fn over `runs` calls, each on fresh inputs from make(). */
function median(make, fn) {
  for (let i = 0; i < 5; i++) fn(make());
  const xs = [];
  for (let i = 0; i < runs; i++) {
    const input = make();
    const t = process.cpuUsage();
    fn(input);
    const d = process.cpuUsage(t);
    xs.push((d.user + d.system) / 1000);
  }
  xs.sort((a, b) => a - b);
  return xs[(xs.length - 1) >> 1];
}

const rows = [];
const row = (what, before, after) =>
  rows.push([what, `${before.toFixed(3)} ms`, `${after.toFixed(3)} ms`, `${(before / after).toFixed(2)}×`]);

const prime = m.bytesToBigInt(createDiffieHellmanGroup("modp14").getPrime());
const fixed = new m.FixedBasePow(2n, prime, 256);
const exponent = () => big(32);
const viaModPow = median(exponent, (a) => m.modPow(2n, a, prime));
row(
  "DH challenge 2^a mod p (2048-bit p, 256-bit a)",
  median(exponent, (a) => fixedWindow4(2n, a, prime)),
  viaModPow,
);
row(
  "  the same with the fixed-base powers (what dh.ts does)",
  viaModPow,
  median(exponent, (a) => fixed.pow(a)),
);
const shared = () => [big(256) % prime, big(32)];
row(
  "DH shared secret B^a mod p (2048-bit p, 256-bit a)",
  median(shared, ([b, a]) => fixedWindow4(b, a, prime)),
  median(shared, ([b, a]) => m.modPow(b, a, prime)),
);

for (const bits of [2048, 3072]) {
  const pair = generateKeyPairSync("rsa", { modulusLength: bits });
  const key = m.parseRsaPrivateKeyPem(pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  const c = () => big(key.size) % key.n;
  row(
    `RSA-${bits} CRT half c^dp mod p (${bits / 2}-bit)`,
    median(c, (x) => fixedWindow4(x, key.dp, key.p)),
    median(c, (x) => m.modPow(x, key.dp, key.p)),
  );
  const cipher = () =>
    publicEncrypt({ key: pair.publicKey, padding: constants.RSA_PKCS1_PADDING }, randomBytes(32));
  const before = (ct) => {
    const x = m.bytesToBigInt(ct);
    const m1 = fixedWindow4(x, key.dp, key.p);
    const m2 = fixedWindow4(x, key.dq, key.q);
    const h = (((key.qinv * (m1 - m2)) % key.p) + key.p) % key.p;
    return fixedWindow4(m2 + h * key.q, key.e, key.n) === x;
  };
  row(
    `RSA-${bits} whole decryption (2 halves + re-encryption check)`,
    median(cipher, before),
    median(cipher, (ct) => m.rsaPkcs1v15Decrypt(key, ct)),
  );
}

console.log(`| operation | before (4-bit fixed window) | after | speed-up |`);
console.log(`|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
console.log(
  `\nMedian CPU of ${runs} runs each; Node ${process.version}, ${os.cpus()[0]?.model ?? "?"}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}.`,
);
