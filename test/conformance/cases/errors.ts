import { IBAuth, type IBAuthOptions, isIbauthError } from "@ibauth/core";
import { assert, equal, match, rejects } from "../../support/assert";
import { pemCanaries } from "../../support/canary";
import { cachedKeys } from "../../support/keys";
import type { Case } from "../context";

const WRONG_CREDENTIAL = "canaryWrongUserP4m8";

export const errorCases: Case[] = [
  {
    name: "typed error: unknown credential -> ERR_AUTH at step bearer, with a paper/live hint",
    async run(ctx) {
      ctx.secret("wrong credential", WRONG_CREDENTIAL);
      const auth = ctx.auth({ credential: WRONG_CREDENTIAL });
      const error = await rejects(() => auth.connect(), "connect with an unknown credential");
      ctx.expose("credential error", error);
      assert(isIbauthError(error), `an IbauthError (got ${String(error)})`);
      equal(error.code, "ERR_AUTH", "code");
      equal(error.step, "bearer", "step");
      equal(error.status, 403, "status");
      match(error.hint, /paper|live/i, "hint");
      ctx.expose("status after the failure", auth.status());
      equal(auth.status().lastError?.step, "bearer", "status().lastError.step");
    },
  },
  {
    name: "typed error: unregistered signing key -> ERR_AUTH at step token",
    async run(ctx) {
      const other = await cachedKeys("other");
      for (const [i, s] of pemCanaries(other.privateKeyPem).entries()) ctx.secret(`other key part ${i}`, s);
      const auth = ctx.auth({ privateKey: other.privateKeyPem });
      const error = await rejects(() => auth.connect(), "connect signing with an unregistered key");
      ctx.expose("key error", error);
      assert(isIbauthError(error), `an IbauthError (got ${String(error)})`);
      equal(error.code, "ERR_AUTH", "code");
      equal(error.step, "token", "step");
      equal((await ctx.calls()).bearer, 0, "sso-sessions requests after a refused token");
    },
  },
  {
    name: "IP claim wrong: init and /sso/validate both refuse the fresh bearer -> ERR_AUTH at init naming the ip claim",
    async run(ctx) {
      const auth = ctx.auth({ ip: "198.51.100.9" });
      const error = await rejects(() => auth.connect(), "connect with a wrong ip claim");
      ctx.expose("ip error", error);
      assert(isIbauthError(error), `an IbauthError (got ${String(error)})`);
      equal(error.code, "ERR_AUTH", "code");
      equal(error.step, "init", "step");
      match(error.hint, /ip claim \(198\.51\.100\.9\)/, "hint names the claimed IP");
      const calls = await ctx.calls();
      equal(calls.init, 1, "ssodh/init requests");
      equal(calls.validate, 1, "sso/validate requests before blaming the IP");
      assert(
        ctx.logger.lines.some((l) =>
          /validate refused the new session key too: for a bearer, the IP claim/.test(l.msg ?? ""),
        ),
        "the log says validate refused too",
      );
    },
  },
  {
    name: "init refuses a fresh bearer once: one /sso/validate, init again succeeds, and the log says so",
    async run(ctx) {
      await ctx.emu.failNext({ path: "/v1/api/iserver/auth/ssodh/init", status: 401 });
      const auth = ctx.auth();
      await auth.connect();
      equal(auth.status().state, "connected", "state");
      const calls = await ctx.calls();
      equal(calls.init, 2, "ssodh/init requests");
      equal(calls.validate, 1, "sso/validate requests");
      equal(calls.bearer, 1, "bearers (the fresh one is kept)");
      assert(
        ctx.logger.lines.some((l) => /succeeded after validate/.test(l.msg ?? "")),
        "the log says init needed validate",
      );
    },
  },
  {
    name: "typed error: bad options -> ERR_CONFIG naming the field, before any request",
    async run(ctx) {
      const bad: [Partial<IBAuthOptions>, string][] = [
        [{ clientId: "" }, "clientId"],
        [{ clientKeyId: "" }, "clientKeyId"],
        [{ credential: "" }, "credential"],
        [{ domain: "api.evil.example" }, "domain"],
        [{ baseUrl: "http://example.com" }, "baseUrl"],
        [{ timeoutMs: -1 }, "timeoutMs"],
      ];
      for (const [overrides, field] of bad) {
        const error = await rejects(
          () => new IBAuth(ctx.options(overrides)),
          `options ${JSON.stringify(overrides)}`,
        );
        ctx.expose(`config error ${field}`, error);
        assert(isIbauthError(error), `${field}: an IbauthError (got ${String(error)})`);
        equal(error.code, "ERR_CONFIG", `${field}: code`);
        equal(error.field, field, `${field}: field`);
      }
      const auth = ctx.auth();
      auth.domain = "5.api.ibkr.com";
      equal(auth.domain, "5.api.ibkr.com", "a valid numbered domain is accepted");
      const error = await rejects(() => {
        auth.domain = "ibkr.evil.example";
      }, "setting an invalid domain");
      assert(
        isIbauthError(error) && error.code === "ERR_CONFIG",
        `domain setter: ERR_CONFIG (got ${String(error)})`,
      );
      equal(error.field, "domain", "domain setter: field");
      equal((await ctx.calls()).total, 0, "requests made");
    },
  },
];
