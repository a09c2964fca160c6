import {
  authFromEnv,
  denoKvStore,
  keepAliveCron,
  parseSessionRecord,
  type TickReport,
} from "../../src/mod.ts";
import * as assert from "./assert.ts";
import {
  CANARY,
  captureLogger,
  clientKeys,
  emulator,
  fastClock,
  inProcessEnv,
  pemFragments,
  until,
} from "./helpers.ts";

Deno.test("canaries: no credential, key, token or session id in logs, status, errors or KV keys", async () => {
  const clock = fastClock(60);
  const emu = await emulator({ now: clock.now });
  const { privateKeyPem } = await clientKeys();
  const { logger, lines } = captureLogger();
  const kv = await Deno.openKv(":memory:");
  const plainStore = denoKvStore(kv, { id: `${CANARY.clientId}:${CANARY.credential}`, logger });
  const auth = authFromEnv({
    env: await inProcessEnv(),
    fetch: emu.fetch,
    store: plainStore,
    logger,
    now: clock.now,
    sleep: clock.sleep,
  });
  const errors: string[] = [];
  try {
    await auth.connect();
    const session = (await auth.tickle()).session;
    await (await auth.fetch("/v1/api/portfolio/accounts")).body?.cancel();

    // A keepalive that heals twice and fails once, all logged at debug level.
    const reports: TickReport[] = [];
    const handle = keepAliveCron(auth, {
      mode: "interval",
      intervalMs: 30,
      logger,
      onTick: (r) => reports.push(r),
    });
    emu.dropBrokerageSession();
    await until(() => reports.some((r) => r.ok === true && r.outcome.action === "reinit"), "a re-init tick");
    emu.expireBearers();
    await until(
      () => reports.some((r) => r.ok === true && r.outcome.action === "relogin"),
      "a re-login tick",
    );
    emu.failNext({ path: "*", count: 50, status: 500, body: { error: "injected" } });
    await until(() => reports.some((r) => r.ok === false), "a failed tick");
    await handle.stop();
    for (const r of reports) if (r.ok === false) errors.push(String(r.error), JSON.stringify(r.error));

    const record = parseSessionRecord(await plainStore.get());
    assert.ok(record?.accessToken && record.bearer, "no session record to take the tokens from");
    const secrets = [
      CANARY.credential,
      ...pemFragments(privateKeyPem),
      record.accessToken.token,
      record.bearer.token,
      session,
    ];
    const keys = (await Array.fromAsync(kv.list({ prefix: [] }))).map((e) => JSON.stringify(e.key));
    const surfaces = {
      logs: lines.join("\n"),
      status: JSON.stringify(auth.status()),
      json: JSON.stringify(auth),
      errors: errors.join("\n"),
      kvKeys: keys.join("\n"),
    };
    assert.ok(lines.length >= 5, `only ${lines.length} log lines: the test would prove little`);
    assert.ok(errors.length > 0, "no error to inspect");
    for (const [where, text] of Object.entries(surfaces)) {
      for (const secret of secrets) {
        assert.ok(!text.includes(secret), `a secret (${secret.slice(0, 4)}...) leaked into ${where}`);
      }
    }
  } finally {
    kv.close();
  }
});
