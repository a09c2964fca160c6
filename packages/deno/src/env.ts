import { IBAuth, type IBAuthOptions } from "@ibauth/core";
import { checkPem, configError, definedOnly, ipList, missingSettings, readKeyFile } from "./config.ts";

/** Where variables come from: `Deno.env` by default, or any `get(name)` (a parsed .env file, a test). */
export interface EnvSource {
  get(name: string): string | undefined;
}

export interface FromEnvOverrides extends Partial<IBAuthOptions> {
  /** Read variables from here instead of `Deno.env`. */
  env?: EnvSource | Record<string, string | undefined>;
}

/** The variables every ibauth adapter reads, and the option each one fills. */
const TEXT_VARS = {
  IBKR_CLIENT_ID: "clientId",
  IBKR_CLIENT_KEY_ID: "clientKeyId",
  IBKR_CREDENTIAL: "credential",
  IBKR_DOMAIN: "domain",
  IBKR_BASE_URL: "baseUrl",
  IBKR_IP: "ip",
  IBKR_IP_LOOKUP_URL: "ipLookupUrl",
} as const satisfies Record<string, keyof IBAuthOptions>;

const REQUIRED: Array<[keyof IBAuthOptions, string]> = [
  ["clientId", "IBKR_CLIENT_ID"],
  ["clientKeyId", "IBKR_CLIENT_KEY_ID"],
  ["credential", "IBKR_CREDENTIAL"],
  ["privateKey", "IBKR_PRIVATE_KEY or IBKR_PRIVATE_KEY_FILE"],
];

function envReader(source: FromEnvOverrides["env"]): (name: string) => string | undefined {
  const get =
    source === undefined
      ? (name: string) => Deno.env.get(name)
      : typeof source.get === "function"
        ? (name: string) => (source as EnvSource).get(name)
        : (name: string) => (source as Record<string, string | undefined>)[name];
  return (name) => {
    let value: string | undefined;
    try {
      value = get(name);
    } catch (error) {
      throw configError(
        `not allowed to read the environment variable ${name}`,
        name,
        "run deno with --allow-env (or --allow-env=IBKR_CLIENT_ID,IBKR_CLIENT_KEY_ID,...)",
        error,
      );
    }
    const trimmed = value?.trim();
    return trimmed ? trimmed : undefined;
  };
}

/**
 * Builds IBAuth options from `IBKR_*` environment variables; `overrides` win over the environment.
 * Throws one ERR_CONFIG that names every missing variable.
 */
export function optionsFromEnv(overrides: FromEnvOverrides = {}): IBAuthOptions {
  const { env, ...given } = overrides;
  const read = envReader(env);
  const fromEnv: Partial<IBAuthOptions> = {};
  for (const [name, option] of Object.entries(TEXT_VARS)) {
    const value = read(name);
    if (value !== undefined) fromEnv[option] = value;
  }
  const ips = read("IBKR_ALTERNATIVE_IPS");
  if (ips !== undefined) fromEnv.alternativeIps = ipList(ips);

  if (given.privateKey === undefined) {
    const pem = read("IBKR_PRIVATE_KEY");
    const file = read("IBKR_PRIVATE_KEY_FILE");
    // Env vars often carry a PEM on one line with literal "\n"; restore the line breaks.
    if (pem !== undefined)
      fromEnv.privateKey = checkPem(
        pem.includes("\n") ? pem : pem.replaceAll("\\n", "\n"),
        "IBKR_PRIVATE_KEY",
      );
    else if (file !== undefined) fromEnv.privateKey = readKeyFile(file, "IBKR_PRIVATE_KEY_FILE");
  }

  const options = { ...fromEnv, ...definedOnly(given) };
  const missing = REQUIRED.filter(([option]) => options[option] === undefined).map(([, name]) => name);
  if (missing.length > 0) {
    throw missingSettings(
      missing,
      "environment variables",
      "set them (IBKR_PRIVATE_KEY holds PEM text) or pass them as overrides",
    );
  }
  return options as IBAuthOptions;
}

/** `new IBAuth(optionsFromEnv(overrides))`: the one-liner for scripts and servers. */
export function authFromEnv(overrides: FromEnvOverrides = {}): IBAuth {
  return new IBAuth(optionsFromEnv(overrides));
}
