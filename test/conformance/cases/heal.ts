import { assert, equal } from "../../support/assert";
import { decodeJwt } from "../../support/wire";
import type { Case } from "../context";
import { brokerageText, ISERVER_PATH, READ_PATH, TICKLE_GAP_MS } from "./shared";

const CALLERS = 20;
const NEW_EGRESS_IP = "198.51.100.77";

export const healCases: Case[] = [
  {
    name: `single-flight: ${CALLERS} concurrent calls after expireBearers() share exactly one new bearer`,
    async run(ctx) {
      const auth = ctx.auth();
      await auth.connect();
      await ctx.emu.expireBearers();
      const before = await ctx.calls();
      const responses = await Promise.all(Array.from({ length: CALLERS }, () => auth.fetch(READ_PATH)));
      const statuses = responses.map((r) => r.status);
      assert(
        statuses.every((s) => s === 200),
        `every caller got 200 (got ${statuses.join(",")})`,
      );
      const after = await ctx.calls();
      equal(after.bearer - before.bearer, 1, "new bearers");
      assert(
        after.token - before.token <= 1,
        `at most one new access token (got ${after.token - before.token})`,
      );
    },
  },
  {
    name: '"no bridge" heals with ssodh/init only, and the call is replayed',
    async run(ctx) {
      const auth = ctx.auth();
      await auth.connect();
      await ctx.emu.dropBrokerageSession();
      const before = await ctx.calls();
      const res = await auth.fetch(ISERVER_PATH);
      equal(res.status, 200, "status of the replayed /iserver call");
      const after = await ctx.calls();
      equal(after.init - before.init, 1, "ssodh/init requests");
      equal(after.bearer - before.bearer, 0, "new bearers");
      equal(after.token - before.token, 0, "new access tokens");
    },
  },
  {
    name: "competing session: tick() re-opens the brokerage session with compete",
    async run(ctx) {
      const auth = ctx.auth();
      await auth.connect();
      await ctx.emu.startCompetingSession();
      await ctx.advance(TICKLE_GAP_MS);
      const before = await ctx.calls();
      const outcome = await auth.tick();
      assert(outcome.action !== "tickled", `tick noticed the competing session (action ${outcome.action})`);
      const after = await ctx.calls();
      assert(after.init - before.init >= 1, "tick ran ssodh/init");
      const lastInit = ctx.wire.calls("/v1/api/iserver/auth/ssodh/init").at(-1);
      const flags = lastInit?.body
        ? JSON.parse(lastInit.body)
        : Object.fromEntries(lastInit?.url.searchParams ?? []);
      assert(flags.compete === true || flags.compete === "true", "re-init asked to compete");
      await ctx.advance(TICKLE_GAP_MS);
      const t = await auth.tickle();
      assert(t.authenticated && !t.competing, `healthy after the heal (got ${brokerageText(t)})`);
      equal((await auth.fetch(ISERVER_PATH)).status, 200, "/iserver call after the heal");
    },
  },
  {
    name: "egress IP change: 401 leads to a new bearer claiming the new IP",
    async run(ctx) {
      const auth = ctx.auth();
      await auth.connect();
      await ctx.emu.setEgressIp(NEW_EGRESS_IP);
      const before = await ctx.calls();
      const res = await auth.fetch(READ_PATH);
      equal(res.status, 200, "status of the replayed call");
      const after = await ctx.calls();
      equal(after.bearer - before.bearer, 1, "new bearers");
      assert(after.ip - before.ip >= 1, "the IP was looked up again");
      const lastBearer = ctx.wire.calls("/gw/api/v1/sso-sessions").at(-1);
      equal(decodeJwt(lastBearer?.body ?? "").payload.ip, NEW_EGRESS_IP, "ip claim of the new bearer");
      equal(auth.status().ip, NEW_EGRESS_IP, "status().ip");
    },
  },
  {
    name: "proactive access-token refresh: a new token before expires_in, not before the margin",
    async run(ctx) {
      const marginMs = 5 * 60_000;
      const auth = ctx.auth({ refreshMarginMs: marginMs });
      const first = await auth.getAccessToken();
      const expiresInMs =
        JSON.parse(ctx.wire.calls("/oauth2/api/v1/token")[0]?.responseBody ?? "{}").expires_in * 1000;
      assert(expiresInMs > marginMs + 120_000, `expires_in leaves room for the test (got ${expiresInMs} ms)`);
      await ctx.advance(expiresInMs - marginMs - 60_000);
      equal(await auth.getAccessToken(), first, "token a minute before the refresh margin");
      equal((await ctx.calls()).token, 1, "token requests before the margin");
      await ctx.advance(120_000);
      const second = await auth.getAccessToken();
      assert(second !== first, "a new token inside the refresh margin");
      equal((await ctx.calls()).token, 2, "token requests inside the margin");
    },
  },
];
