/**
 * Connects to the IBKR Web API, prints the accounts, and keeps the session alive with Deno KV + Deno.cron.
 * Configured by IBKR_* environment variables (see README.md). Ctrl-C logs the session out.
 */
import { authFromEnv, consoleLogger, denoKvStore, keepAliveCron, type LogLevel } from "@ibauth/deno";

const logger = consoleLogger({ level: (Deno.env.get("IBKR_LOG_LEVEL") ?? "info") as LogLevel });
// Deno KV keeps the session across restarts and isolates: a restart within the session's life logs in with
// zero requests. IBKR_KV_KEY (base64 of 32 random bytes) encrypts the stored tokens.
const kv = await Deno.openKv(Deno.env.get("IBKR_KV_PATH"));
const kvKey = Deno.env.get("IBKR_KV_KEY");
const store = denoKvStore(kv, {
  id: `${Deno.env.get("IBKR_CLIENT_ID")}:${Deno.env.get("IBKR_CREDENTIAL")}`,
  ...(kvKey ? { encryptionKey: kvKey } : {}),
  logger,
});
const auth = authFromEnv({ store, logger });

// Registered before any await on IBKR: Deno Deploy only accepts Deno.cron at the top level of the module.
const keepalive = keepAliveCron(auth, { logger });

const status = await auth.connect();
console.log(`connected to ${status.origin} (IP claim ${status.ip}, state ${status.state})`);
const res = await auth.fetch("/v1/api/portfolio/accounts");
const accounts = (await res.json()) as Array<{ accountId: string; type?: string; currency?: string }>;
for (const a of accounts) console.log(`account ${a.accountId} ${a.type ?? ""} ${a.currency ?? ""}`.trim());
console.log(`keeping the session alive (${keepalive.mode}); Ctrl-C to log out and quit`);

Deno.addSignalListener("SIGINT", async () => {
  await keepalive.stop();
  await auth.logout();
  kv.close();
  Deno.exit(0);
});
