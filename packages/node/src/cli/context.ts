import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { consoleLogger, IbauthError, type Logger, type SessionStore } from "@ibauth/core";
import { type ResolvedAuth, resolveAuth } from "../auth-from";
import { fileStore } from "../file-store";
import { readYamlSettings } from "../settings";
import type { Output } from "./output";

export interface CliOptions {
  config: string;
  json: boolean;
  debug: boolean;
  session?: string;
  out?: string;
  bits?: string;
  port?: string;
  host?: string;
  interval?: string;
  key?: string;
  force: boolean;
  log: boolean;
  oauth1?: boolean;
  modp?: boolean;
}

export interface CliContext {
  options: CliOptions;
  output: Output;
  logger: Logger;
}

/**
 * Logs to stderr, through `output` so a line never glues onto a step in progress. Without --debug,
 * warnings that report an error (they carry `code`) are dropped: a one-shot command ends with that
 * error as its closing line, and keepalive prints every tick's outcome.
 */
export function cliLogger(options: CliOptions, output: Output, level: "info" | "warn" = "warn"): Logger {
  const logger = consoleLogger({
    level: options.debug ? "debug" : level,
    json: options.json,
    write: (line) => output.log(line),
  });
  if (options.debug) return logger;
  return {
    ...logger,
    warn: (fields, msg) => (fields.code === undefined ? logger.warn(fields, msg) : undefined),
  };
}

/**
 * Where the CLI keeps the session between runs when the config names no session_file: the user's
 * cache folder, one file per config path (hashed, so the file name says nothing about the account).
 */
const cacheFolder = () => join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "ibauth");

export function defaultSessionFile(configPath: string): string {
  const id = createHash("sha256").update(resolve(configPath)).digest("hex").slice(0, 16);
  return join(cacheFolder(), `session-${id}.json`);
}

export interface CliAuth extends ResolvedAuth {
  store: SessionStore;
  sessionFile: string;
  /**
   * Throws the first failed write or delete of the session file (ERR_STORE naming the path and the
   * errno, exit 2): the core carries on in memory, but a CLI run whose session is not kept failed.
   */
  assertStored(): void;
}

/** fileStore, remembering the first write or delete that failed. */
function recordingStore(path: string, pacingFolder: string): { store: SessionStore; failure: () => unknown } {
  const inner = fileStore(path, { pacingFolder });
  let failure: unknown;
  const record = (error: unknown) => {
    failure ??= error;
    throw error;
  };
  return {
    // the pacing sibling and the lock pass through: they carry IBKR's limits from one run to the next
    store: { ...inner, set: (r) => inner.set(r).catch(record), delete: () => inner.delete().catch(record) },
    failure: () => failure,
  };
}

/** The config file's IBAuth, with the CLI's logger and a file store so separate runs share one session. */
export async function loadCliAuth(ctx: CliContext): Promise<CliAuth> {
  if (!existsSync(ctx.options.config)) {
    throw new IbauthError(`${ctx.options.config}: cannot read the config file (not found)`, {
      code: "ERR_CONFIG",
      step: "config",
      hint: "Pass --config FILE; `ibauth keygen` shows what a config needs, `ibauth emulator` writes one for a local emulator",
    });
  }
  const settings = await readYamlSettings(ctx.options.config);
  const sessionFile =
    ctx.options.session ?? settings.values.sessionFile ?? defaultSessionFile(ctx.options.config);
  // IBKR paces per username: every run shares one pacing record, whichever --session file it uses
  const { store, failure } = recordingStore(sessionFile, cacheFolder());
  const resolved = await resolveAuth(settings, { logger: ctx.logger, store });
  for (const warning of resolved.key?.warnings ?? []) ctx.logger.warn({ step: "key" }, warning);
  return {
    ...resolved,
    store,
    sessionFile,
    assertStored: () => {
      if (failure()) throw failure();
    },
  };
}
