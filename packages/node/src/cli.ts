#!/usr/bin/env node
import { parseArgs } from "node:util";
import { closest } from "@ibauth/core";
import packageJson from "../package.json";
import { COMMANDS, type CommandSpec, commandUsage, usage } from "./cli/commands";
import { type CliOptions, cliLogger } from "./cli/context";
import {
  debugTrail,
  describeFailure,
  EXIT,
  exitCodeFor,
  interruptedFailure,
  UsageError,
} from "./cli/failure";
import { OPTIONS, type OptionName } from "./cli/options";
import { Output } from "./cli/output";

interface Parsed {
  name: string;
  /** False for a bare `ibauth --help`: the overview, not the smoke test's help. */
  named: boolean;
  spec: CommandSpec;
  args: string[];
  options: CliOptions;
  help: boolean;
  version: boolean;
}

/** Node's parseArgs messages are long and mention "positional"; ours are one short line. */
function parseError(error: unknown): UsageError {
  const { code, message } = error as { code?: string; message: string };
  // "Unknown option '--foo'", "Option '-c, --config <value>' argument missing": the long name when there is one.
  const option = /'(?:-\w, )?(-{1,2}[^' ]+)/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) {
    const guess = option.startsWith("--") ? closest(option.slice(2), Object.keys(OPTIONS)) : undefined;
    return new UsageError(`unknown option ${option}${guess ? `; did you mean --${guess}?` : ""}`);
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) {
    return new UsageError(
      /argument missing/.test(message) ? `${option} needs a value` : `${option} takes no value`,
    );
  }
  return new UsageError(message.split("\n")[0]!.replace(/\.$/, ""));
}

function parse(argv: string[]): Parsed {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw parseError(error);
  }
  const { values, positionals } = parsed;
  let [name = "smoke", ...args] = positionals;
  let help = values.help ?? false;
  // `ibauth help login` is `ibauth login --help`.
  if (name === "help") {
    help = true;
    name = args.shift() ?? "smoke";
  }
  const spec = COMMANDS[name];
  if (!spec) {
    const guess = closest(name, Object.keys(COMMANDS));
    throw new UsageError(`unknown command ${name}${guess ? `; did you mean ${guess}?` : ""}`);
  }
  if (!help && !values.version) {
    const max = spec.args ? 1 : 0;
    if (args.length > max)
      throw new UsageError(
        `${name} takes ${max ? `one argument (${spec.args})` : "no argument"} (got ${args.join(" ")})`,
        name,
      );
    for (const option of Object.keys(values) as OptionName[]) {
      if (option !== "help" && option !== "version" && !spec.options.includes(option))
        throw new UsageError(
          `--${option} does not apply to ${name === "smoke" ? "the smoke test" : name}`,
          name,
        );
    }
  }
  const { json = false, debug = false, force = false, log = false, config = "config.yaml", ...rest } = values;
  delete rest.help;
  delete rest.version;
  return {
    name,
    named: positionals.length > 0,
    spec,
    args,
    help,
    version: values.version ?? false,
    options: { ...rest, config, json, debug, force, log },
  };
}

/** Ctrl-C in a one-shot command: one line naming the step it stopped, exit 130 (the shell's 128 + SIGINT). */
function exitOnInterrupt(output: Output): void {
  process.once("SIGINT", () => {
    const failure = interruptedFailure(output.pendingStep);
    output.failed(failure.message, failure.json);
    process.exit(EXIT.interrupted);
  });
}

async function main(argv: string[]): Promise<number> {
  // Read before parsing, so even a usage error answers in the requested form.
  const output = new Output({ json: argv.includes("--json") });
  const debug = argv.includes("--debug");
  try {
    const { name, named, spec, args, options, help, version } = parse(argv);
    if (version) {
      process.stdout.write(`${packageJson.version}\n`);
      return EXIT.ok;
    }
    if (help) {
      process.stdout.write(`${named ? commandUsage(name) : usage()}\n`);
      return EXIT.ok;
    }
    if (!spec.longRunning) exitOnInterrupt(output);
    const code = await spec.run(
      { options, output, logger: cliLogger(options, output, spec.longRunning ? "info" : "warn") },
      args,
    );
    return code ?? EXIT.ok;
  } catch (error) {
    const failure = describeFailure(error);
    output.failed(failure.message, failure.json);
    if (debug) {
      const trail = debugTrail(error);
      output.log(output.json ? JSON.stringify({ level: "debug", time: Date.now(), msg: trail }) : trail);
    }
    return exitCodeFor(error);
  }
}

// Exit explicitly: an idle keep-alive socket must not hold the shell for seconds. Linux writes to
// pipes and TTYs synchronously, so nothing printed is lost.
main(process.argv.slice(2)).then((code) => process.exit(code));
