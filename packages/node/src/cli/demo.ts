import { IBAuth, IbauthError } from "@ibauth/core";
import type { CliContext } from "./context";
import { DEMO, startDemoEmulator } from "./emulator-command";
import { generateRsaKeys, parseBits } from "./keygen";
import { formatDuration, formatMs } from "./output";
import { brokerageText } from "./session-commands";

async function readJson(auth: IBAuth, path: string): Promise<unknown> {
  const res = await auth.fetch(path);
  if (!res.ok)
    throw new IbauthError(`GET ${path} failed`, { code: "ERR_HTTP", step: "request", status: res.status });
  return res.json();
}

function firstAccountId(accounts: unknown): string {
  const first = Array.isArray(accounts)
    ? (accounts[0] as { accountId?: unknown; id?: unknown } | undefined)
    : undefined;
  const id = first?.accountId ?? first?.id;
  if (typeof id !== "string")
    throw new IbauthError("no account in /portfolio/accounts", { code: "ERR_PROTOCOL", step: "request" });
  return id;
}

/** A one-line taste of the summary: the net liquidation value when the emulator reports it. */
function summaryText(summary: unknown): string {
  const nlv = (summary as Record<string, { amount?: unknown; currency?: unknown } | undefined> | null)
    ?.netliquidation;
  return typeof nlv?.amount === "number"
    ? `net liquidation ${nlv.amount.toLocaleString("en-US")} ${nlv.currency ?? ""}`.trim()
    : "summary received";
}

/**
 * `ibauth demo`: the whole OAuth 2.0 flow against an in-process emulator over real HTTP, one timed
 * line per step, using the core's step methods so each hop shows on its own.
 */
export async function demoCommand(ctx: CliContext): Promise<void> {
  const out = ctx.output;
  const bits = parseBits(ctx.options.bits);
  out.line(out.paint(1, "ibauth demo: IBKR Web API OAuth 2.0 against a local emulator (no account needed)"));
  const keys = await out.step(
    "generate key",
    async () => generateRsaKeys(bits),
    (k) => `RSA ${k.bits}-bit, throwaway`,
  );
  const server = await out.step(
    "start emulator",
    () => startDemoEmulator(keys.publicKeyPem),
    (s) => s.url,
  );
  try {
    const auth = new IBAuth({
      clientId: DEMO.clientId,
      clientKeyId: DEMO.clientKeyId,
      credential: DEMO.credential,
      privateKey: keys.privateKeyPem,
      baseUrl: server.url,
      ipLookupUrl: `${server.url}/__emulator/ip`,
      logger: ctx.logger,
    });
    const started = performance.now();
    await out.step(
      "access token",
      () => auth.getAccessToken(),
      () => {
        const expiresAt = auth.status().accessTokenExpiresAt;
        return expiresAt ? `expires in ${formatDuration(expiresAt - Date.now())}` : undefined;
      },
    );
    await out.step(
      "bearer token",
      () => auth.getBearerToken(),
      () => `SSO session, ip claim ${auth.status().ip ?? "?"}`,
    );
    await out.step(
      "brokerage init",
      () => auth.ssodhInit(),
      (b) => brokerageText(b),
    );
    await out.step(
      "validate",
      () => auth.validateSso(),
      (v) => (v.valid ? `valid, ${v.paper ? "paper" : "live"}` : "NOT valid"),
    );
    await out.step(
      "tickle",
      () => auth.tickle(),
      (t) => `idle expiry in ${formatDuration(t.ssoExpires)}`,
    );
    const accounts = await out.step(
      "accounts",
      () => readJson(auth, "/v1/api/portfolio/accounts"),
      (a) =>
        Array.isArray(a)
          ? `${a.length} account${a.length === 1 ? "" : "s"}: ${firstAccountId(a)}`
          : undefined,
    );
    const id = firstAccountId(accounts);
    await out.step(
      "account summary",
      () => readJson(auth, `/v1/api/portfolio/${encodeURIComponent(id)}/summary`),
      summaryText,
    );
    await out.step("logout", () => auth.logout());
    const flowMs = performance.now() - started;
    const requests = Object.values(server.emulator.counts() as Record<string, number>).reduce(
      (a, b) => a + b,
      0,
    );
    out.done(
      `${out.paint(32, "✓ demo complete:")} ${out.steps.length - 2} steps, ${requests} requests in ${formatMs(flowMs)} (key generation ${formatMs(keys.ms)}, ${bits}-bit)`,
      {
        command: "demo",
        emulator: server.url,
        bits,
        keygenMs: Math.round(keys.ms),
        flowMs: Math.round(flowMs),
        requests,
      },
    );
  } finally {
    await server.close();
  }
}
