import { checkCommand } from "./check";
import { completionCommand } from "./completion";
import type { CliContext } from "./context";
import { demoCommand } from "./demo";
import { emulatorCommand } from "./emulator-command";
import { keepaliveCommand } from "./keepalive-command";
import { keygenCommand } from "./keygen";
import { keygenOAuth1 } from "./keygen-oauth1";
import { OPTIONS, type OptionName } from "./options";
import { loginCommand, logoutCommand, smokeCommand, statusCommand, tickleCommand } from "./session-commands";

type Run = (ctx: CliContext, args: string[]) => Promise<number | undefined | void>;

export interface CommandSpec {
  run: Run;
  summary: string;
  options: OptionName[];
  /** Positional arguments after the command name, for the usage line (none when absent). */
  args?: string;
  /** Commands that run until a signal print their own lines and handle Ctrl-C themselves. */
  longRunning?: boolean;
}

const SESSION: OptionName[] = ["config", "session", "json", "debug"];

export const COMMANDS: Record<string, CommandSpec> = {
  smoke: {
    run: smokeCommand,
    summary: "smoke test: connect, validate, tickle, print the session status (the default command)",
    options: SESSION,
  },
  login: {
    run: loginCommand,
    summary: "open a session (kept in the session file for later commands)",
    options: SESSION,
  },
  status: {
    run: statusCommand,
    summary: "check the stored session (validate, or a tickle when validate's answer is cached)",
    options: SESSION,
  },
  tickle: { run: tickleCommand, summary: "keep the stored session alive once (heals it)", options: SESSION },
  logout: { run: logoutCommand, summary: "end the stored session", options: SESSION },
  keepalive: {
    run: keepaliveCommand,
    summary: "log in and tickle until Ctrl-C/SIGTERM (one line per tickle), then log out",
    options: [...SESSION, "interval"],
    longRunning: true,
  },
  keygen: {
    run: (ctx) => (ctx.options.oauth1 ? keygenOAuth1(ctx) : keygenCommand(ctx)),
    summary:
      "write a new RSA key pair (private_key.pem, public_key.pem) and how to register it; --oauth1: the OAuth 1.0a files for the Self-Service Portal",
    options: ["out", "bits", "force", "oauth1", "modp", "json", "debug"],
  },
  check: {
    run: checkCommand,
    summary:
      "validate the config and the key offline; print the key fingerprint (OAuth 1.0a: decrypt the secret, check the DH prime)",
    options: ["config", "json", "debug"],
  },
  emulator: {
    run: emulatorCommand,
    summary:
      "run a local IBKR emulator until Ctrl-C and print a config.yaml for it; --oauth1: an OAuth 1.0a consumer's",
    options: ["oauth1", "port", "host", "key", "bits", "out", "log", "json", "debug"],
    longRunning: true,
  },
  demo: {
    run: demoCommand,
    summary: "the whole flow against an in-process emulator, step by step",
    options: ["bits", "json", "debug"],
  },
  completion: {
    run: completionCommand,
    summary: 'print a shell completion script: eval "$(ibauth completion bash)" (or zsh)',
    options: [],
    args: "bash|zsh",
  },
};

const EXIT_CODES =
  "Exit codes: 0 ok, 1 IBKR refused or the session failed, 2 usage/config/key/file error, 3 network or timeout, 4 internal error, 130 interrupted.";

function optionLines(names: OptionName[]): string[] {
  return names.map((name) => {
    const o = OPTIONS[name] as { short?: string; arg?: string; help: string };
    const flag = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.arg ? ` ${o.arg}` : ""}`;
    return `  ${flag.padEnd(22)} ${o.help}`;
  });
}

export function usage(): string {
  return [
    "ibauth: log in to the Interactive Brokers Web API (OAuth 2.0 or 1.0a) and keep the session alive",
    "",
    "Usage: ibauth [command] [options]",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(
      ([name, c]) => `  ${(name === "smoke" ? "(none)" : name).padEnd(11)} ${c.summary}`,
    ),
    "",
    "Options (`ibauth help COMMAND` lists the ones each command takes):",
    ...optionLines(Object.keys(OPTIONS) as OptionName[]),
    "",
    EXIT_CODES,
  ].join("\n");
}

export function commandUsage(name: string): string {
  const c = COMMANDS[name]!;
  const shown = name === "smoke" ? "ibauth" : `ibauth ${name}`;
  return [
    `Usage: ${shown}${c.args ? ` ${c.args}` : ""}${c.options.length ? " [options]" : ""}`,
    "",
    c.summary,
    "",
    "Options:",
    ...optionLines([...c.options, "help"]),
    "",
    EXIT_CODES,
  ].join("\n");
}
