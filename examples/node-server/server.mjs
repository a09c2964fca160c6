// @ts-check
// A service that holds one IBKR Web API session and serves a few reads from it.
//   IBAUTH_CONFIG=config.yaml node server.mjs     (or the IBKR_* variables instead of a file)
// The session survives restarts in SESSION_FILE, and keepAlive tickles it every minute.
import { createServer } from "node:http";
import { authFromEnv, authFromYaml, consoleLogger, fileStore, isIbauthError, keepAlive } from "@ibauth/node";

const logger = consoleLogger({ level: process.env.LOG_LEVEL === "debug" ? "debug" : "info" });
const store = fileStore(process.env.SESSION_FILE ?? ".ibauth-session.json");
const configFile = process.env.IBAUTH_CONFIG;

/** @type {import("@ibauth/node").IBAuth} */
let auth;
try {
  auth = configFile
    ? await authFromYaml(configFile, { store, logger })
    : await authFromEnv({ store, logger });
} catch (error) {
  // Config and key errors are one clear line; nothing to serve without them.
  console.error(isIbauthError(error) ? error.message : error);
  process.exit(2);
}

try {
  await auth.connect();
} catch (error) {
  // Keep serving: /health says 503 and keepAlive retries with back-off.
  logger.warn(
    { code: isIbauthError(error) ? error.code : "unexpected" },
    "login failed; keepalive will retry",
  );
}
const ticker = keepAlive(auth, { logger, intervalMs: Number(process.env.TICKLE_INTERVAL_MS ?? 60_000) });

/** @param {import("node:http").ServerResponse} res @param {number} status @param {unknown} body */
function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

/**
 * Relays one Web API read; IBKR's errors keep their status, SDK errors become 502/503.
 * @param {import("node:http").ServerResponse} res @param {string} path
 */
async function relay(res, path) {
  try {
    const upstream = await auth.fetch(path);
    send(res, upstream.status, await upstream.json());
  } catch (error) {
    if (!isIbauthError(error)) throw error;
    send(res, error.code === "ERR_RATE_LIMITED" ? 503 : 502, {
      error: { code: error.code, message: error.message },
    });
  }
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const summary = url.pathname.match(/^\/accounts\/([A-Za-z0-9]+)\/summary$/);
  if (req.method !== "GET") return send(res, 405, { error: "GET only" });
  if (url.pathname === "/health") {
    const status = auth.status(); // no secrets in it
    return send(res, status.state === "connected" ? 200 : 503, status);
  }
  if (url.pathname === "/accounts") return relay(res, "/v1/api/portfolio/accounts");
  if (summary) return relay(res, `/v1/api/portfolio/${summary[1]}/summary`);
  send(res, 404, { error: "try /health, /accounts or /accounts/{id}/summary" });
});

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? "127.0.0.1";
server.listen(port, host, () => {
  const address = server.address();
  logger.info(
    { url: `http://${host}:${typeof address === "object" && address ? address.port : port}` },
    "listening",
  );
});

for (const signal of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
  process.once(signal, async () => {
    server.close();
    await ticker.stop({ logout: true });
    process.exit(0);
  });
}
