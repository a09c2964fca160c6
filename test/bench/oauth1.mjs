// `node test/bench/oauth1.mjs`: what OAuth 1.0a costs the client, printed as one markdown table.
// - CPU of the process's first login (decrypting the access-token secret with BigInt RSA, DH, RSA-SHA256,
//   ssodh/init: one sample, JIT warm-up included), of a login by a new IBAuth afterwards (the secret is
//   decrypted once per process; a Worker makes an IBAuth per operation) and of a renewed live session token, in Node and in Deno, against an emulator in another process
//   (so the process's CPU holds only the SDK's work);
// - CPU per signed request (HMAC-SHA256) next to OAuth 2.0's bearer;
// - the bytes the OAuth 1.0a modules (BigInt RSA/DH, signing, LST) add to the core bundle.
import { spawnSync } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { resolveWorkspacePackage, root } from "../faults/workspace-packages.mjs";
import { emulatorProcess } from "./emulator-child.mjs";

const load = (name) => import(pathToFileURL(resolveWorkspacePackage(name)).href);
const { IBAuth } = await load("@ibauth/core");
const { generateOauth1Credentials, generateClientKeys } = await load("@ibauth/emulator/node");

const creds = await generateOauth1Credentials({ consumerKey: "BENCHCONS" });
const keys = await generateClientKeys({ bits: 3072 });
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => `${x.toFixed(1)} ms`;

const srv = await emulatorProcess({
  oauth1Consumers: [creds.consumer],
  clients: [{ clientId: "bench", keys: { main: keys.publicKeyPem }, credentials: ["benchuser"] }],
  rateLimits: false,
  dailyReset: false,
});
const control = (action) =>
  fetch(`${srv.url}/__emulator/control`, { method: "POST", body: JSON.stringify({ action }) });

/** CPU (user+system) of this process while fn runs, in ms. */
async function cpu(fn) {
  const start = process.cpuUsage();
  await fn();
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

const rows = [];
const oauth1 = () => new IBAuth({ oauth1: creds.client, baseUrl: srv.url });

const first = await cpu(() => oauth1().connect());
const cold = [];
for (let i = 0; i < 15; i++) cold.push(await cpu(() => oauth1().connect()));
const auth = oauth1();
await auth.connect();
const renew = [];
for (let i = 0; i < 9; i++) {
  await control("expireLst");
  renew.push(await cpu(() => auth.tick()));
}
rows.push([
  "Node: first OAuth 1.0a login of the process (decrypt secret, DH, RSA-SHA256, LST, ssodh/init)",
  ms(first),
]);
rows.push(["Node: login by a new IBAuth (secret already decrypted in this process)", ms(median(cold))]);
rows.push([
  "Node: tick after expire-lst (new LST + ssodh/init; secret already decrypted)",
  ms(median(renew)),
]);

async function perRequest(a, n = 300) {
  await a.connect();
  const total = await cpu(async () => {
    for (let i = 0; i < n; i++) await (await a.fetch("/v1/api/iserver/accounts?bench=1")).arrayBuffer();
  });
  return total / n;
}
const signed = await perRequest(oauth1());
const bearer = await perRequest(
  new IBAuth({
    clientId: "bench",
    clientKeyId: "main",
    credential: "benchuser",
    privateKey: keys.privateKeyPem,
    baseUrl: srv.url,
    ip: "203.0.113.10",
  }),
);
rows.push(["Node: CPU per request, OAuth 1.0a (HMAC-SHA256 signature)", ms(signed)]);
rows.push(["Node: CPU per request, OAuth 2.0 (bearer), for comparison", ms(bearer)]);

// Deno: the same logins and renewal, the core loaded from its dist
const dir = mkdtempSync(join(os.tmpdir(), "ibauth-oauth1-bench-"));
try {
  writeFileSync(join(dir, "creds.json"), JSON.stringify(creds.client), { mode: 0o600 });
  const script = join(dir, "deno-bench.mjs");
  writeFileSync(
    script,
    `import process from "node:process";
import { IBAuth } from "@ibauth/core";
const creds = JSON.parse(await Deno.readTextFile(${JSON.stringify(join(dir, "creds.json"))}));
const cpu = async (fn) => { const s = process.cpuUsage(); await fn(); const d = process.cpuUsage(s); return (d.user + d.system) / 1000; };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
const make = () => new IBAuth({ oauth1: creds, baseUrl: ${JSON.stringify(srv.url)} });
const first = await cpu(() => make().connect());
const cold = []; for (let i = 0; i < 15; i++) cold.push(await cpu(() => make().connect()));
const a = make(); await a.connect(); const renew = [];
for (let i = 0; i < 9; i++) { await fetch(${JSON.stringify(`${srv.url}/__emulator/control`)}, { method: "POST", body: '{"action":"expireLst"}' }); renew.push(await cpu(() => a.tick())); }
console.log(JSON.stringify({ first, cold: median(cold), renew: median(renew) }));
`,
  );
  // the conformance suite's config maps @ibauth/core to the built dist
  const deno = spawnSync(
    join(root, "node_modules/.bin/deno"),
    [
      "run",
      "--quiet",
      "--config=test/conformance/deno/deno.json",
      "--allow-net=127.0.0.1",
      `--allow-read=${dir}`,
      script,
    ],
    { cwd: root, encoding: "utf8", env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } },
  );
  if (deno.status === 0) {
    const r = JSON.parse(deno.stdout.trim().split("\n").pop());
    rows.push(["Deno: first OAuth 1.0a login of the process", ms(r.first)]);
    rows.push(["Deno: login by a new IBAuth", ms(r.cold)]);
    rows.push(["Deno: tick after expire-lst", ms(r.renew)]);
  } else rows.push(["Deno", `failed: ${deno.stderr.split("\n")[0]}`]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
await srv.stop();

// Bundle: the core minified, and what of it the OAuth 1.0a modules are
// esbuild is tsup's dependency; pnpm links it beside tsup's real directory
const esbuild = createRequire(realpathSync(join(root, "node_modules/tsup/package.json")))("esbuild");
const bundle = await esbuild.build({
  entryPoints: [join(root, "packages/core/src/index.ts")],
  bundle: true,
  minify: true,
  write: false,
  metafile: true,
  format: "esm",
  platform: "neutral",
  external: ["valibot", "jose"],
});
const inputs = Object.entries(bundle.metafile.outputs).flatMap(([, o]) => Object.entries(o.inputs));
const oauth1Bytes = inputs
  .filter(([p]) => p.includes("/oauth1/"))
  .reduce((n, [, i]) => n + i.bytesInOutput, 0);
const total = bundle.outputFiles[0].contents;
const alone = await esbuild.build({
  entryPoints: [join(root, "packages/core/src/oauth1/mechanism.ts")],
  bundle: true,
  minify: true,
  write: false,
  format: "esm",
  platform: "neutral",
  plugins: [
    {
      name: "only-oauth1",
      setup(b) {
        b.onResolve({ filter: /^\.\.\/|^valibot$/ }, (a) => ({ path: a.path, external: true }));
      },
    },
  ],
});
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
rows.push([
  "Core bundle, minified (valibot and jose external): total / of it src/oauth1 (login, settings, offline check)",
  `${kib(total.length)} / ${kib(oauth1Bytes)}`,
]);
rows.push([
  "Core bundle, minified + gzip: total / the OAuth 1.0a login alone (BigInt RSA/DH, signing, LST)",
  `${kib(gzipSync(total).length)} / ${kib(gzipSync(alone.outputFiles[0].contents).length)}`,
]);

console.log(`\nOAuth 1.0a (${os.cpus()[0]?.model ?? "cpu"}, Node ${process.version}; medians)\n`);
console.log("| measure | value |\n|---|---|");
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
