import { memoryStore, parseSessionRecord, type SessionRecord, type SessionStore } from "@ibauth/core";
import { assert, equal, match } from "../../support/assert";
import { decodeJwt } from "../../support/wire";
import { type Case, CREDENTIAL, EGRESS_IP } from "../context";
import { brokerageText, READ_PATH, TICKLE_GAP_MS } from "./shared";

export const connectCases: Case[] = [
  {
    name: "cold connect: token + IP lookup in parallel, bearer, init = 4 requests in 3 round trips",
    // With a real round-trip time the IP lookup overlaps the token request; with none, it would finish
    // while the assertion is still being signed and look sequential. 120 ms outlasts signing even on
    // a loaded machine.
    emulator: { latencyMs: 120 },
    async run(ctx) {
      const auth = ctx.auth();
      const status = await auth.connect();
      equal(status.state, "connected", "state after connect");
      const calls = await ctx.calls();
      equal(calls.token, 1, "token requests");
      equal(calls.ip, 1, "IP lookups");
      equal(calls.bearer, 1, "sso-sessions requests");
      equal(calls.init, 1, "ssodh/init requests");
      equal(calls.total, 4, "requests the emulator served");
      equal(ctx.wire.entries.length, 4, "requests the SDK sent");
      equal(ctx.wire.roundTrips(), 3, "round trips (longest chain of sequential requests)");
      const again = await auth.connect();
      equal(again.state, "connected", "state after a second connect");
      equal((await ctx.calls()).total, 4, "requests after a second connect (idempotent)");
    },
  },
  {
    name: "getAccessToken returns the issued token and reuses it",
    async run(ctx) {
      const auth = ctx.auth();
      const token = await auth.getAccessToken();
      const issued = JSON.parse(ctx.wire.calls("/oauth2/api/v1/token")[0]?.responseBody ?? "{}");
      equal(token, issued.access_token, "returned token is the one issued");
      equal(await auth.getAccessToken(), token, "second call returns the same token");
      const calls = await ctx.calls();
      equal(calls.token, 1, "token requests");
      equal(calls.total, 1, "requests in all (no IP lookup, no bearer)");
      assert(
        (auth.status().accessTokenExpiresAt ?? 0) > ctx.now(),
        "status() shows when the access token expires",
      );
    },
  },
  {
    name: "getBearerToken claims the looked-up IP and returns the issued bearer",
    async run(ctx) {
      const auth = ctx.auth();
      const bearer = await auth.getBearerToken();
      const call = ctx.wire.calls("/gw/api/v1/sso-sessions")[0];
      equal(bearer, JSON.parse(call?.responseBody ?? "{}").access_token, "returned bearer is the one issued");
      equal(decodeJwt(call?.body ?? "").payload.ip, EGRESS_IP, "ip claim");
      equal(auth.status().ip, EGRESS_IP, "status().ip");
      const calls = await ctx.calls();
      equal(calls.bearer, 1, "sso-sessions requests");
      equal(calls.init, 0, "ssodh/init requests (the bearer alone opens no brokerage session)");
    },
  },
  {
    name: "ssodhInit opens the brokerage session",
    async run(ctx) {
      const auth = ctx.auth();
      await auth.getBearerToken();
      const brokerage = await auth.ssodhInit();
      assert(brokerage.authenticated, "authenticated");
      assert(brokerage.connected, "connected");
      assert(!brokerage.competing, "not competing");
      equal((await ctx.calls()).init, 1, "ssodh/init requests");
    },
  },
  {
    name: "validateSso reports a valid SSO session",
    async run(ctx) {
      const auth = ctx.auth();
      await auth.connect();
      const result = await auth.validateSso();
      assert(result.valid, "valid");
      assert((result.expiresMs ?? 0) > 0, `expiresMs > 0 (got ${result.expiresMs})`);
      assert(!JSON.stringify(result).includes(CREDENTIAL), "the result does not carry the credential");
      equal((await ctx.calls()).validate, 1, "validate requests");
    },
  },
  {
    name: "tickle returns the session id and brokerage state",
    async run(ctx) {
      const auth = ctx.auth();
      await auth.connect();
      const t = await auth.tickle();
      match(t.session, /^[0-9a-f]{32}$/, "session id");
      assert(t.ssoExpires > 0, `ssoExpires > 0 (got ${t.ssoExpires})`);
      assert(
        t.authenticated && t.connected && !t.competing,
        `healthy brokerage state (got ${brokerageText(t)})`,
      );
      equal((await ctx.calls()).tickle, 1, "tickle requests");
      assert(auth.status().lastTickleAt !== undefined, "status().lastTickleAt set");
    },
  },
  {
    name: "store resume: a second IBAuth on the same store connects with zero requests; a tickle writes nothing",
    async run(ctx) {
      const store = countingStore(memoryStore());
      const first = ctx.auth({ store });
      await first.connect();
      const record = parseSessionRecord(await store.get()) as SessionRecord;
      assert(record !== undefined, "connect wrote a valid session record");
      ctx.expose("store owner (key material)", record.owner);
      const before = await ctx.calls();
      const second = ctx.auth({ store });
      equal((await second.connect()).state, "connected", "resumed state");
      equal((await ctx.calls()).total - before.total, 0, "requests to resume");
      equal((await second.fetch(READ_PATH)).status, 200, "authenticated call on the resumed session");
      equal((await ctx.calls()).total - before.total, 1, "requests for resume + one call");
      const writes = store.writes();
      await ctx.advance(60_000);
      const outcome = await second.tick();
      equal(outcome.action, "tickled", "tick action on a healthy session");
      equal(store.writes(), writes, "store writes caused by a plain tickle");
      await ctx.advance(TICKLE_GAP_MS);
    },
  },
  {
    name: "logout ends the session: state closed, the old bearer is refused",
    async run(ctx) {
      const auth = ctx.auth();
      const bearer = await auth.getBearerToken();
      await auth.connect();
      await auth.logout();
      equal((await ctx.calls()).logout, 1, "logout requests");
      equal(auth.status().state, "closed", "state after logout");
      const raw = await ctx.wire.fetch(`${ctx.baseUrl}/v1/api/tickle`, {
        headers: { authorization: `Bearer ${bearer}`, "user-agent": "conformance-probe" },
      });
      equal(raw.status, 401, "tickle with the logged-out bearer");
    },
  },
];

function countingStore(inner: SessionStore): SessionStore & { writes(): number } {
  let writes = 0;
  return {
    get: () => inner.get(),
    set: (record) => {
      writes++;
      return inner.set(record);
    },
    delete: () => inner.delete(),
    writes: () => writes,
  };
}
