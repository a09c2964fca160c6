/** Every option the CLI knows, with its help text; each command lists the ones that apply to it. */
export const OPTIONS = {
  config: { type: "string", short: "c", arg: "FILE", help: "config file (default ./config.yaml)" },
  session: {
    type: "string",
    arg: "FILE",
    help: "session file (default: session_file from the config, else one per config in ~/.cache/ibauth)",
  },
  interval: { type: "string", arg: "SEC", help: "seconds between tickles, 1..300 (default 60)" },
  out: { type: "string", arg: "DIR", help: "folder for the files written (default: see the command)" },
  bits: { type: "string", arg: "N", help: "RSA key size, 2048..8192 (default 3072)" },
  force: { type: "boolean", help: "replace existing key files" },
  oauth1: {
    type: "boolean",
    help: "OAuth 1.0a: keygen writes the signature and encryption key pairs and dhparam.pem for IBKR's Self-Service Portal; emulator registers a consumer and prints its oauth1: config",
  },
  modp: {
    type: "boolean",
    help: "with --oauth1: RFC 3526's 2048-bit group as dhparam.pem at once, instead of a new safe prime (minutes)",
  },
  port: { type: "string", arg: "N", help: "port to listen on (default 0: any free port)" },
  host: {
    type: "string",
    arg: "ADDR",
    help: "address to listen on (default 127.0.0.1; anything else exposes the emulator to the network)",
  },
  key: { type: "string", arg: "FILE", help: "use this private key instead of generating one" },
  log: { type: "boolean", help: "print one line per request (method, path, status, why a 429)" },
  json: {
    type: "boolean",
    help: "JSON only: one object on stdout (errors too, as {ok:false,error}); stderr gets JSON log lines",
  },
  debug: { type: "boolean", help: "log every step and status to stderr (never a secret)" },
  help: { type: "boolean", short: "h", help: "this help; `ibauth help COMMAND` for one command" },
  version: { type: "boolean", short: "V", help: "print the version" },
} as const;

export type OptionName = keyof typeof OPTIONS;
