// Emulator throughput: what one emulator costs a test suite. Prints a table; not a test.
// Run after `pnpm --filter @ibauth/emulator run build`: node packages/emulator/bench/throughput.mjs
import { createEmulator, generateClientKeys, startEmulator } from "@ibauth/emulator/node";
import { importPKCS8, SignJWT } from "jose";

const CLIENT = "bench-client";
const USERS = Array.from({ length: 400 }, (_, i) => `user${i}`);
const IP = "203.0.113.10";
const UA = { "user-agent": "ibauth-bench" };

const t0 = performance.now();
const keys = await generateClientKeys({ bits: 2048 });
const keygenMs = performance.now() - t0;
const key = await importPKCS8(keys.privateKeyPem, "RS256");
const options = {
  clients: [{ clientId: CLIENT, keys: { main: keys.publicKeyPem }, credentials: USERS }],
  egressIp: IP,
  rateLimits: false,
};

const sign = (claims) => new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "main" }).sign(key);

async function login(fetchFn, base, user) {
  const now = Math.floor(Date.now() / 1000);
  const form = new URLSearchParams({
    grant_type: "client_credentials",
    client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    client_assertion: await sign({ iss: CLIENT, sub: CLIENT, aud: "/token", iat: now - 10, exp: now + 20 }),
    scope: "sso-sessions.write",
  });
  const token = await fetchFn(`${base}/oauth2/api/v1/token`, {
    method: "POST",
    headers: { ...UA, "content-type": "application/x-www-form-urlencoded" },
    body: form.toString(),
  });
  const { access_token } = await token.json();
  const jwt = await sign({ iss: CLIENT, credential: user, ip: IP, iat: now, exp: now + 600 });
  const sso = await fetchFn(`${base}/gw/api/v1/sso-sessions`, {
    method: "POST",
    headers: { ...UA, authorization: `Bearer ${access_token}`, "content-type": "application/jwt" },
    body: jwt,
  });
  const { access_token: bearer } = await sso.json();
  const init = await fetchFn(`${base}/v1/api/iserver/auth/ssodh/init`, {
    method: "POST",
    headers: { ...UA, authorization: `Bearer ${bearer}` },
    body: '{"publish":true,"compete":true}',
  });
  if (init.status !== 200) throw new Error(`login failed: ${init.status}`);
  return bearer;
}

async function measure(name, fetchFn, base) {
  const logins = 100;
  let t = performance.now();
  let bearer;
  for (let i = 0; i < logins; i++) bearer = await login(fetchFn, base, USERS[i]);
  const loginMs = (performance.now() - t) / logins;
  const tickles = 2000;
  const headers = { ...UA, authorization: `Bearer ${bearer}` };
  t = performance.now();
  for (let i = 0; i < tickles; i++) await (await fetchFn(`${base}/v1/api/tickle`, { headers })).arrayBuffer();
  const tickleUs = ((performance.now() - t) / tickles) * 1000;
  return {
    transport: name,
    "login ms (3 requests + 2 client signatures)": loginMs.toFixed(2),
    "tickle µs (sequential)": tickleUs.toFixed(0),
    "tickles/s": Math.round(1e6 / tickleUs),
  };
}

const emu = createEmulator(options);
const rows = [await measure("in-process emu.fetch", emu.fetch, "http://127.0.0.1:1")];
const srv = await startEmulator({ ...options, port: 0 });
rows.push(await measure("HTTP on 127.0.0.1", fetch, srv.url));
await srv.close();

console.log(`RSA-2048 client key generation (generateClientKeys): ${keygenMs.toFixed(0)} ms`);
console.table(rows);
