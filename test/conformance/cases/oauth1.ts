// OAuth 1.0a (first-party): the same session lifecycle with the live session token as the session key,
// every request signed HMAC-SHA256; the emulator verifies each signature strictly.
import { isIbauthError } from "@ibauth/core";
import { assert, equal, match } from "../../support/assert";
import type { Case } from "../context";
import { ISERVER_PATH, TICKLE_GAP_MS } from "./shared";

export const oauth1Cases: Case[] = [
  {
    name: "oauth1: connect is one live-session-token request and one ssodh/init; requests are signed, query included",
    oauth1: true,
    async run(ctx) {
      const auth = ctx.oauth1Auth();
      const status = await auth.connect();
      equal(status.state, "connected", "state after connect");
      assert((status.liveSessionTokenExpiresAt ?? 0) > ctx.now(), "status() shows when the LST expires");
      const res = await auth.fetch(`${ISERVER_PATH}?conformance=1&x=a%20b`);
      equal(res.status, 200, "a signed /iserver request with a query");
      const calls = await ctx.calls();
      equal(calls.lst, 1, "live_session_token requests");
      equal(calls.init, 1, "ssodh/init requests");
      equal(calls.token + calls.bearer + calls.ip, 0, "no OAuth 2.0 step");
    },
  },
  {
    name: "oauth1: 20 concurrent callers meeting an expired LST share exactly one new LST, and all succeed",
    oauth1: true,
    async run(ctx) {
      const auth = ctx.oauth1Auth();
      await auth.connect();
      await ctx.emu.expireLst();
      const statuses = await Promise.all(
        Array.from({ length: 20 }, () => auth.fetch(ISERVER_PATH).then((r) => r.status)),
      );
      assert(
        statuses.every((s) => s === 200),
        `every caller gets 200 (got ${[...new Set(statuses)].join(", ")})`,
      );
      equal((await ctx.calls()).lst, 2, "live_session_token requests");
    },
  },
  {
    name: "oauth1: tick tickles a live session and logs in again after the LST expired",
    oauth1: true,
    async run(ctx) {
      const auth = ctx.oauth1Auth();
      await auth.connect();
      await ctx.advance(TICKLE_GAP_MS);
      equal((await auth.tick()).action, "tickled", "tick on a live session");
      await ctx.emu.expireLst();
      await ctx.advance(TICKLE_GAP_MS);
      equal((await auth.tick()).action, "relogin", "tick after expire-lst");
      await ctx.advance(TICKLE_GAP_MS);
      equal((await auth.tick()).action, "tickled", "tick after the re-login");
      await auth.logout();
      equal(auth.status().state, "closed", "state after logout");
    },
  },
  {
    name: "oauth1: a realm IBKR does not have for this consumer is ERR_AUTH at the lst step, naming realm",
    oauth1: true,
    async run(ctx) {
      const auth = ctx.oauth1Auth({}, { realm: "test_realm" });
      const error = await auth.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      ctx.expose("connect error", error);
      assert(isIbauthError(error), "connect throws an IbauthError");
      equal(`${error.code} ${error.step}`, "ERR_AUTH lst", "code and step");
      match(error.hint, /realm/, "the hint names realm");
    },
  },
];
