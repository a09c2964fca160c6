#!/usr/bin/env node
import { parseArgs } from "node:util";
import packageJson from "../package.json";
import { checkCommand } from "./cli/check";
import { type CliContext, type CliOptions, cliLogger } from "./cli/context";
import { demoCommand } from "./cli/demo";
import { emulatorCommand } from "./cli/emulator-command";
import { debugTrail, describeFailure, EXIT, exitCodeFor, UsageError } from "./cli/failure";
import { keepaliveCommand } from "./cli/keepalive-command";
import { keygenCommand } from "./cli/keygen";
import { Output } from "./cli/output";
import {
  loginCommand,
  logoutCommand,
  smokeCommand,
  statusCommand,
  tickleCommand,
} from "./cli/session-commands";

const USAGE = `ibauth: log in to the Interactive Brokers Web API (OAuth 2.0) and keep the session alive

Usage: ibauth [command] [options]

Commands:
  (none)      smoke test: connect, validate, tickle, print the session status
  login       open a session (kept in the session file for later commands)
  status      validate the stored session and print its status
  tickle      keep the stored session alive once
  logout      end the stored session
  keepalive   log in and tickle until SIGINT/SIGTERM, then log out
  keygen      write a new RSA key pair and print how to register it  [--out DIR] [--bits 3072] [--force]
  check       validate config and key offline; print the key fingerprint
  emulator    run a local IBKR emulator and print a config for it  [--port N] [--key FILE] [--out DIR]
  demo        the whole flow against an in-process emulator, step by step

Options:
  --config FILE     config file (default ./config.yaml)
  --session FILE    session file (default: session_file from the config, else a per-config file in ~/.cache/ibauth)
  --json            one JSON object on stdout (logs go to stderr as JSON lines)
  --debug           log every step and status to stderr (never a secret)
  --interval SEC    keepalive: seconds between tickles (default 60)
  --help, --version

Exit codes: 0 ok, 1 IBKR refused or the session failed, 2 usage/config/key error, 3 network or timeout, 4 internal error.`;

type Command = (ctx: CliContext) => Promise<number | undefined | void>;

const COMMANDS: Record<string, Command> = {
  smoke: smokeCommand,
  login: loginCommand,
  status: statusCommand,
  tickle: tickleCommand,
  logout: logoutCommand,
  keepalive: keepaliveCommand,
  keygen: keygenCommand,
  check: checkCommand,
  emulator: emulatorCommand,
  demo: demoCommand,
};

function parse(argv: string[]): { command: string; options: CliOptions; help: boolean; version: boolean } {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split("\n")[0]!);
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw new UsageError(`one command at a time (got ${positionals.join(" ")})`);
  const command = positionals[0] ?? "smoke";
  if (!(command in COMMANDS)) throw new UsageError(`unknown command ${command}`);
  const {
    help = false,
    version = false,
    json = false,
    debug = false,
    force = false,
    config = "config.yaml",
    ...rest
  } = values;
  return { command, help, version, options: { ...rest, config, json, debug, force } };
}

const OPTIONS = {
  config: { type: "string", short: "c" },
  session: { type: "string" },
  json: { type: "boolean" },
  debug: { type: "boolean" },
  out: { type: "string" },
  bits: { type: "string" },
  port: { type: "string" },
  host: { type: "string" },
  interval: { type: "string" },
  key: { type: "string" },
  force: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

async function main(argv: string[]): Promise<number> {
  // Read before parsing, so even a usage error answers in the requested form.
  const output = new Output({ json: argv.includes("--json") });
  const debug = argv.includes("--debug");
  try {
    const { command, options, help, version } = parse(argv);
    if (help) {
      process.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (version) {
      process.stdout.write(`${packageJson.version}\n`);
      return EXIT.ok;
    }
    const chatty = command === "keepalive" || command === "emulator";
    const code = await COMMANDS[command]!({
      options,
      output,
      logger: cliLogger(options, chatty ? "info" : "warn"),
    });
    return code ?? EXIT.ok;
  } catch (error) {
    const failure = describeFailure(error);
    output.failed(failure.message, failure.json);
    if (debug) process.stderr.write(`${debugTrail(error)}\n`);
    return exitCodeFor(error);
  }
}

// Exit explicitly: an idle keep-alive socket must not hold the shell for seconds. Linux writes to
// pipes and TTYs synchronously, so nothing printed is lost.
main(process.argv.slice(2)).then((code) => process.exit(code));
