/**
 * Connects to the IBKR Web API, prints the accounts, and keeps the session alive with Deno KV + Deno.cron.
 * Configured by IBKR_* environment variables, or by a Python-ibauth config.yaml named in IBKR_CONFIG
 * (see README.md). Ctrl-C logs the session out.
 */
import {
  consoleLogger,
  denoKvStore,
  IBAuth,
  keepAliveCron,
  type LogLevel,
  optionsFromEnv,
  optionsFromYaml,
} from "@ibauth/deno";

const logger = consoleLogger({ level: (Deno.env.get("IBKR_LOG_LEVEL") ?? "info") as LogLevel });
// Deno KV keeps the session across restarts and isolates: a restart within the session's life logs in with
// zero requests. IBKR_KV_KEY (base64 of 32 random bytes) encrypts the stored tokens.
const configFile = Deno.env.get("IBKR_CONFIG");
const options = configFile ? optionsFromYaml(configFile) : optionsFromEnv();
const kv = await Deno.openKv(Deno.env.get("IBKR_KV_PATH"));
const kvKey = Deno.env.get("IBKR_KV_KEY");
const store = denoKvStore(kv, {
  id: `${options.clientId}:${options.credential}`, // only its hash enters the KV key
  ...(kvKey ? { encryptionKey: kvKey } : {}),
  logger,
});
const auth = new IBAuth({ ...options, store, logger });

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
