import { consoleLogger, isIbauthError, memoryStore, parseSessionRecord } from "@ibauth/core";
import { assert } from "../../support/assert";
import type { Case } from "../context";
import { ISERVER_PATH, READ_PATH, TICKLE_GAP_MS } from "./shared";

// Every case ends with a leak scan of the recording logger, status() and what it exposed; this case
// drives every flow (login, heals, keepalive, failures, logout) at debug level through both the
// recording logger and the core's consoleLogger, so that scan covers them all.
export const canaryCases: Case[] = [
  {
    name: "canary secrets: key, credential, tokens, assertions never reach logs (every level), status(), errors or the store key",
    async run(ctx) {
      const consoleLines: string[] = [];
      const store = memoryStore();
      const auth = ctx.auth({ store });
      const textAuth = ctx.auth({
        logger: consoleLogger({ level: "debug", write: (l) => consoleLines.push(l) }),
      });
      const jsonAuth = ctx.auth({
        logger: consoleLogger({ level: "debug", json: true, write: (l) => consoleLines.push(l) }),
      });

      for (const a of [auth, textAuth, jsonAuth]) {
        await a.connect();
        await a.fetch(READ_PATH);
        ctx.expose("status after connect", a.status());
      }
      await ctx.advance(TICKLE_GAP_MS);
      await auth.tickle();
      await auth.validateSso();
      await ctx.emu.expireBearers();
      await auth.fetch(READ_PATH);
      await textAuth.fetch(READ_PATH);
      await ctx.emu.dropBrokerageSession();
      await auth.fetch(ISERVER_PATH);
      await jsonAuth.fetch(ISERVER_PATH);
      await ctx.emu.setEgressIp("198.51.100.99");
      await auth.fetch(READ_PATH);
      await ctx.advance(60_000);
      await auth.tick();
      await ctx.emu.failNext({ path: "/v1/api/tickle", status: 500, count: 10 });
      await ctx.advance(60_000);
      await auth.tick().catch((error: unknown) => {
        assert(isIbauthError(error), `tick failure is an IbauthError (got ${String(error)})`);
        ctx.expose("tick error", error);
      });
      ctx.expose("status after a failed tick", auth.status());
      await ctx.emu.expireAccessTokens();
      await ctx.emu.expireBearers();
      await ctx.advance(60_000);
      await textAuth.tick().catch((error: unknown) => ctx.expose("text tick error", error));
      const record = parseSessionRecord(await store.get());
      assert(record !== undefined, "the store holds a session record");
      ctx.expose("store owner (key material)", record.owner);
      for (const a of [auth, textAuth, jsonAuth]) {
        await a.logout().catch((error: unknown) => ctx.expose("logout error", error));
        ctx.expose("status after logout", a.status());
      }
      ctx.expose("consoleLogger lines", consoleLines);
      assert(ctx.logger.lines.length > 0 && consoleLines.length > 0, "the SDK logged something to scan");
    },
  },
];
