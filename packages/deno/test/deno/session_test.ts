import { authFromEnv, authFromYaml, denoKvStore, IBAuth, parseSessionRecord } from "../../src/mod.ts";
import * as assert from "./assert.ts";
import {
  CANARY,
  clientKeys,
  countLogins,
  emulator,
  inProcessEnv,
  inProcessOptions,
  serve,
  tempDir,
} from "./helpers.ts";

Deno.test("in-process emulator: authFromEnv -> connect, tickle, accounts", async () => {
  const emu = await emulator();
  const auth = authFromEnv({
    env: await inProcessEnv(),
    fetch: emu.fetch,
  });
  const status = await auth.connect();
  assert.equal(status.state, "connected");
  assert.equal(status.ip, "203.0.113.10");
  assert.deepEqual(countLogins(emu), { token: 1, sso: 1, init: 1 });

  const tickle = await auth.tickle();
  assert.ok(
    tickle.authenticated && tickle.connected && !tickle.competing,
    JSON.stringify({ ...tickle, session: "-" }),
  );

  const res = await auth.fetch("/v1/api/portfolio/accounts");
  assert.equal(res.status, 200);
  const accounts = (await res.json()) as Array<{ accountId: string }>;
  assert.ok(accounts.length > 0 && typeof accounts[0]?.accountId === "string");
  await auth.logout();
});

Deno.test("loopback HTTP (Deno.serve on 127.0.0.1): authFromYaml -> connect, /iserver/accounts", async () => {
  const emu = await emulator();
  const server = await serve(emu);
  try {
    const dir = await tempDir();
    await Deno.writeTextFile(`${dir}/key.pem`, (await clientKeys()).privateKeyPem);
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      [
        `client_id: ${CANARY.clientId}`,
        "client_key_id: main",
        `credential: ${CANARY.credential}`,
        "private_key_file: key.pem",
        `base_url: ${server.url}`,
        `ip_lookup_url: ${server.url}/__emulator/ip`,
      ].join("\n"),
    );
    const auth = authFromYaml(`${dir}/config.yaml`);
    await auth.connect();
    const res = await auth.fetch("/v1/api/iserver/accounts");
    assert.equal(res.status, 200);
    const body = (await res.json()) as { accounts?: string[] };
    assert.ok(Array.isArray(body.accounts) && body.accounts.length > 0, JSON.stringify(body));
    assert.ok(
      emu.requests.every((r) => r.status !== 0),
      "a request was dropped",
    );
    await auth.logout();
  } finally {
    await server.close();
  }
});

Deno.test("denoKvStore on a KV file: a second process-like instance resumes with zero requests", async () => {
  const emu = await emulator();
  const path = `${await tempDir()}/ibauth.kv`;
  const id = `${CANARY.clientId}:${CANARY.credential}`;

  const kv1 = await Deno.openKv(path);
  const first = new IBAuth({ ...(await inProcessOptions(emu)), store: denoKvStore(kv1, { id }) });
  await first.connect();
  kv1.close();
  const requestsAfterLogin = emu.requests.length;

  const kv2 = await Deno.openKv(path);
  try {
    const second = new IBAuth({ ...(await inProcessOptions(emu)), store: denoKvStore(kv2, { id }) });
    const status = await second.connect();
    assert.equal(status.state, "connected");
    assert.equal(
      emu.requests.length,
      requestsAfterLogin,
      "connect() with a stored live session sent requests",
    );
    const res = await second.fetch("/v1/api/portfolio/accounts");
    assert.equal(res.status, 200);
    assert.deepEqual(countLogins(emu), { token: 1, sso: 1, init: 1 });
  } finally {
    kv2.close();
  }
});

Deno.test("denoKvStore: a corrupt stored record means one fresh login, not a crash", async () => {
  const emu = await emulator();
  const kv = await Deno.openKv(":memory:");
  try {
    const store = denoKvStore(kv);
    await new IBAuth({ ...(await inProcessOptions(emu)), store }).connect();
    const [entry] = await Array.fromAsync(kv.list({ prefix: ["ibauth"] }));
    await kv.set(entry?.key ?? [], '{"v":1,"owner":');

    const again = new IBAuth({ ...(await inProcessOptions(emu)), store });
    await again.connect();
    assert.deepEqual(countLogins(emu), { token: 2, sso: 2, init: 2 });
    assert.ok(parseSessionRecord(await store.get()), "the fresh login did not rewrite the record");
  } finally {
    kv.close();
  }
});

Deno.test("denoKvStore encrypted: resumes with the right key, logs in again with another", async () => {
  const emu = await emulator();
  const kv = await Deno.openKv(":memory:");
  try {
    const key = crypto.getRandomValues(new Uint8Array(32));
    await new IBAuth({
      ...(await inProcessOptions(emu)),
      store: denoKvStore(kv, { encryptionKey: key }),
    }).connect();
    await new IBAuth({
      ...(await inProcessOptions(emu)),
      store: denoKvStore(kv, { encryptionKey: key }),
    }).connect();
    assert.deepEqual(countLogins(emu), { token: 1, sso: 1, init: 1 });
    const otherKey = crypto.getRandomValues(new Uint8Array(32));
    await new IBAuth({
      ...(await inProcessOptions(emu)),
      store: denoKvStore(kv, { encryptionKey: otherKey }),
    }).connect();
    assert.equal(countLogins(emu).token, 2);
  } finally {
    kv.close();
  }
});
