import type { ApiCall, Env } from "./context.js";
import { defaultAccountId } from "./random.js";
import { apiError, json } from "./responses.js";

/** A few read endpoints so demos show something real-looking. Figures are synthetic. */

export function accountsOf(call: ApiCall, env: Env): string[] {
  const client = env.clients.get(call.session.clientId);
  return client?.accounts?.[call.session.username] ?? [defaultAccountId(call.session.username)];
}

export function iserverAccounts(call: ApiCall, env: Env): Response {
  const accounts = accountsOf(call, env);
  return json({
    accounts,
    acctProps: Object.fromEntries(
      accounts.map((a) => [a, { hasChildAccounts: false, supportsCashQty: true }]),
    ),
    aliases: Object.fromEntries(accounts.map((a) => [a, a])),
    allowFeatures: { showGFIS: true, allowCrypto: false, allowTypeAhead: true },
    chartPeriods: {},
    groups: [],
    profiles: [],
    selectedAccount: accounts[0],
    serverInfo: { serverName: env.serverInfo.serverName, serverVersion: env.serverInfo.serverVersion },
    sessionId: call.session.id.slice(0, 8),
    isFT: false,
    isPaper: true,
  });
}

/** /portfolio/accounts (and /subaccounts): also the pre-flight other /portfolio calls need (protocol §2). */
export function portfolioAccounts(call: ApiCall, env: Env): Response {
  call.session.portfolioPrimed = true;
  return json(
    accountsOf(call, env).map((id) => ({
      id,
      accountId: id,
      accountVan: id,
      accountTitle: "Emulated Paper Account",
      displayName: id,
      accountAlias: null,
      accountStatus: 1_700_000_000_000,
      currency: "USD",
      type: "DEMO",
      tradingType: "PMRGN",
      faclient: false,
      clearingStatus: "O",
      covestor: false,
      parent: {},
      desc: id,
    })),
  );
}

const SUMMARY: Record<string, number> = {
  netliquidation: 1_000_000,
  totalcashvalue: 400_000,
  grosspositionvalue: 600_000,
  buyingpower: 4_000_000,
  availablefunds: 750_000,
  excessliquidity: 760_000,
  initmarginreq: 250_000,
  maintmarginreq: 240_000,
};

/** /portfolio/{accountId}/summary: 401 before the /portfolio/accounts pre-flight, as IBKR's email says. */
export function portfolioSummary(call: ApiCall, env: Env, accountId: string): Response {
  if (!call.session.portfolioPrimed)
    return apiError(401, "call /portfolio/accounts or /portfolio/subaccounts first");
  if (!accountsOf(call, env).includes(accountId)) return apiError(400, "invalid account id");
  const timestamp = env.clock.now();
  const entry = (amount: number, value: string | null = null) => ({
    amount,
    currency: value === null ? "USD" : null,
    isNull: false,
    timestamp,
    value,
    severity: 0,
  });
  return json({
    accountcode: entry(0, accountId),
    accounttype: entry(0, "PMRGN"),
    ...Object.fromEntries(Object.entries(SUMMARY).map(([k, v]) => [k, entry(v)])),
  });
}

/** IBKR's history endpoint takes a while to answer; the wait makes its 5-concurrent limit observable. */
const HISTORY_ANSWER_MS = 50;

/** /iserver/marketdata/history: a few synthetic daily bars, answered after HISTORY_ANSWER_MS. */
export async function history(call: ApiCall, env: Env): Promise<Response> {
  const conid = call.url.searchParams.get("conid");
  if (!conid) return apiError(400, "conid is required");
  await new Promise((resolve) => setTimeout(resolve, HISTORY_ANSWER_MS));
  const day = 86_400_000;
  const start = Math.floor(env.clock.now() / day) * day - 5 * day;
  const data = Array.from({ length: 5 }, (_, i) => ({
    t: start + i * day,
    o: 100 + i,
    c: 101 + i,
    h: 102 + i,
    l: 99 + i,
    v: 1000,
  }));
  return json({ symbol: conid, text: "Emulated", priceFactor: 1, data, points: data.length });
}
