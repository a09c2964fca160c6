import {
  ENV_NAMES,
  IBAuth,
  type IBAuthOAuth1Options,
  type IBAuthOptions,
  OAUTH1_ENV_NAMES,
  OAUTH1_SHARED_OPTIONS,
  oauth1FromEnv,
  settingsFromEnv,
} from "@ibauth/core";
import { checkPem, configError, definedOnly, readKeyFile, withOverrides } from "./config.ts";

/** Where variables come from: `Deno.env` by default, or any `get(name)` (a parsed .env file, a test). */
export interface EnvSource {
  get(name: string): string | undefined;
}

export interface FromEnvOverrides extends Partial<IBAuthOptions> {
  /** Read variables from here instead of `Deno.env`. */
  env?: EnvSource | Record<string, string | undefined>;
}

function envReader(source: FromEnvOverrides["env"]): (name: string) => string | undefined {
  const get =
    source === undefined
      ? (name: string) => Deno.env.get(name)
      : typeof source.get === "function"
        ? (name: string) => (source as EnvSource).get(name)
        : (name: string) => (source as Record<string, string | undefined>)[name];
  return (name) => {
    try {
      return get(name);
    } catch (error) {
      throw configError(
        `not allowed to read the environment variable ${name}`,
        name,
        `run deno with --allow-env (or --allow-env=${Object.values(ENV_NAMES).join(",")})`,
        error,
      );
    }
  };
}

/**
 * OAuth 1.0a options when any IBKR_OAUTH1_* (or ibind's IBIND_OAUTH1A_*) variable is set. A variable
 * deno may not read counts as unset, so a narrow --allow-env for OAuth 2.0 keeps working.
 */
function oauth1OptionsFromEnv(
  read: (name: string) => string | undefined,
  given: Partial<IBAuthOptions>,
): IBAuthOAuth1Options | undefined {
  const vars: Record<string, string> = {};
  for (const name of Object.values(OAUTH1_ENV_NAMES).flat()) {
    let value: string | undefined;
    try {
      value = read(name)?.trim();
    } catch {
      value = undefined;
    }
    if (value) vars[name] = value;
  }
  const oauth1 = oauth1FromEnv(vars, { readFile: (path) => Deno.readTextFileSync(path) });
  if (!oauth1) return undefined;
  const shared: Record<string, string> = {};
  for (const field of OAUTH1_SHARED_OPTIONS) {
    const value = read(ENV_NAMES[field])?.trim();
    if (value) shared[field] = value;
  }
  return { oauth1, ...shared, ...definedOnly(given) } as IBAuthOAuth1Options;
}

/**
 * Builds IBAuth options from the `IBKR_*` variables every ibauth adapter reads (the core's `ENV_NAMES`);
 * `overrides` win over the environment and stand in for missing variables. Throws one ERR_CONFIG that
 * names every missing variable. OAuth 2.0 only: authFromEnv also reads OAuth 1.0a variables.
 */
export function optionsFromEnv(overrides: FromEnvOverrides = {}): IBAuthOptions {
  const { env, ...given } = overrides;
  const read = envReader(env);
  const vars: Record<string, string> = {};
  for (const name of Object.values(ENV_NAMES)) {
    const value = read(name)?.trim();
    if (value) vars[name] = value;
  }
  // Read the key file here rather than through the core, so a missing permission or a wrong file gets
  // Deno's own hint, and a public key is caught before the first login.
  let keyFrom = ENV_NAMES.privateKey;
  if (!vars[ENV_NAMES.privateKey] && vars[ENV_NAMES.privateKeyFile] && given.privateKey === undefined) {
    vars[ENV_NAMES.privateKey] = readKeyFile(vars[ENV_NAMES.privateKeyFile], ENV_NAMES.privateKeyFile);
    keyFrom = ENV_NAMES.privateKeyFile;
  }
  const settings = settingsFromEnv(withOverrides(vars, ENV_NAMES, given));
  if (given.privateKey === undefined) checkPem(settings.privateKey as string, keyFrom);
  return { ...settings, ...definedOnly(given) };
}

/**
 * `new IBAuth(optionsFromEnv(overrides))`, the one-liner for scripts and servers; in OAuth 1.0a mode
 * when any IBKR_OAUTH1_* (or ibind's IBIND_OAUTH1A_*) variable is set.
 */
export function authFromEnv(overrides: FromEnvOverrides = {}): IBAuth {
  const { env, ...given } = overrides;
  const oauth1 = oauth1OptionsFromEnv(envReader(env), given);
  return new IBAuth(oauth1 ?? optionsFromEnv(overrides));
}
