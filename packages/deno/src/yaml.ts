import {
  IBAuth,
  type IBAuthOAuth1Options,
  type IBAuthOptions,
  OAUTH1_SHARED_OPTIONS,
  oauth1FromConfig,
  settingsFromConfigFile,
  unknownKeyWarning,
  YAML_KEYS,
} from "@ibauth/core";
import { parseDocument } from "yaml";
import {
  checkPem,
  configError,
  definedOnly,
  describeReadError,
  readKeyFile,
  withOverrides,
} from "./config.ts";

/**
 * Builds IBAuth options from a YAML file in the Python ibauth format (`client_id`, `client_key_id`,
 * `credential`, `private_key_file`, `domain`, plus the core's `YAML_KEYS`). `private_key_file` is relative
 * to the YAML's folder. A key ibauth does not use is ignored with a warning naming it (through
 * `overrides.logger`, else `console.warn`), as the Python ibauth ignores it; a near-typo of a known key
 * (`client-id`) is refused with "did you mean". `overrides` win over the file and stand in for missing keys.
 */
export function optionsFromYaml(path: string | URL, overrides: Partial<IBAuthOptions> = {}): IBAuthOptions {
  return optionsFromData(readYaml(path), path, overrides);
}

function optionsFromData(
  data: Record<string, unknown>,
  path: string | URL,
  overrides: Partial<IBAuthOptions>,
): IBAuthOptions {
  // Read the key file here rather than through the core: relative to the YAML, with Deno's own hints.
  let keyFrom = YAML_KEYS.privateKey;
  const keyFile = data[YAML_KEYS.privateKeyFile];
  if (
    data[YAML_KEYS.privateKey] == null &&
    typeof keyFile === "string" &&
    overrides.privateKey === undefined
  ) {
    data[YAML_KEYS.privateKey] = readKeyFile(besideYaml(path, keyFile.trim()), YAML_KEYS.privateKeyFile);
    keyFrom = YAML_KEYS.privateKeyFile;
  }
  const settings = settingsFromConfigFile(withOverrides(data, YAML_KEYS, overrides), String(path), {
    warn: warner(overrides),
  });
  if (overrides.privateKey === undefined) checkPem(settings.privateKey as string, keyFrom);
  return { ...settings, ...definedOnly(overrides) };
}

function warner(overrides: Partial<IBAuthOptions>): (message: string) => void {
  return (message) =>
    overrides.logger
      ? overrides.logger.warn({ step: "config" }, message)
      : console.warn(`ibauth warning: ${message}`);
}

/** The keys an `oauth1:` config may hold beside the mapping (the rest are OAuth 2.0's or unknown). */
const OAUTH1_SHARED = Object.fromEntries(OAUTH1_SHARED_OPTIONS.map((option) => [option, YAML_KEYS[option]]));

/**
 * OAuth 1.0a: the `oauth1:` mapping the Node adapter reads (`consumer_key`, `access_token`,
 * `access_token_secret`, `signature_key_file`, `encryption_key_file`, `dh_prime` or `dh_param_file`,
 * `realm`; files relative to the YAML's folder), plus `base_url`, `domain` and `user_agent`. Other keys
 * are ignored with a warning, near-typos refused, as in OAuth 2.0 mode.
 */
function oauth1OptionsFromData(
  data: Record<string, unknown>,
  path: string | URL,
  overrides: Partial<IBAuthOptions>,
): IBAuthOAuth1Options {
  const where = String(path);
  const known = ["oauth1", ...Object.values(OAUTH1_SHARED)];
  const warnings = Object.keys(data)
    .filter((k) => !known.includes(k))
    .map((k) => unknownKeyWarning(k, known, where));
  const warn = warner(overrides);
  for (const warning of warnings) warn(warning);
  const oauth1 = oauth1FromConfig(data.oauth1, where, {
    readFile: (file) => Deno.readTextFileSync(besideYaml(path, file)),
  });
  const shared: Record<string, string> = {};
  for (const [option, key] of Object.entries(OAUTH1_SHARED)) {
    const value = data[key];
    if (typeof value === "string" && value.trim()) shared[option] = value.trim();
  }
  return { oauth1, ...shared, ...definedOnly(overrides) } as IBAuthOAuth1Options;
}

/**
 * `new IBAuth(optionsFromYaml(path, overrides))`; in OAuth 1.0a mode when the file has an `oauth1:`
 * mapping (optionsFromYaml is OAuth 2.0's).
 */
export function authFromYaml(path: string | URL, overrides: Partial<IBAuthOptions> = {}): IBAuth {
  const data = readYaml(path);
  return new IBAuth(
    data.oauth1 === undefined
      ? optionsFromData(data, path, overrides)
      : oauth1OptionsFromData(data, path, overrides),
  );
}

function readYaml(path: string | URL): Record<string, unknown> {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    const { reason, hint } = describeReadError(error);
    throw configError(`cannot read the config file ${String(path)}: ${reason}`, "path", hint, error);
  }
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text);
  } catch (error) {
    // The npm `yaml` package reads process.env.LOG_TOKENS / LOG_STREAM while parsing.
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw configError(
        `cannot parse ${String(path)}: the yaml parser needs env access`,
        "path",
        "run deno with --allow-env (or --allow-env=LOG_TOKENS,LOG_STREAM)",
        error,
      );
    }
    throw error;
  }
  const [first] = doc.errors;
  if (first) {
    // yaml's own message quotes the offending line, which may hold the credential: give the position only.
    const at = first.linePos?.[0];
    throw configError(
      `${String(path)} is not valid YAML (${first.code}${at ? ` at line ${at.line}, column ${at.col}` : ""})`,
      "path",
    );
  }
  const data = doc.toJS();
  if (data === null || typeof data !== "object" || Array.isArray(data)) {
    throw configError(
      `${String(path)} must be a YAML mapping of settings (client_id: ..., credential: ...)`,
      "path",
    );
  }
  return data as Record<string, unknown>;
}

function besideYaml(yamlPath: string | URL, file: string): string | URL {
  if (yamlPath instanceof URL) return new URL(file, yamlPath);
  if (file.startsWith("/") || /^[A-Za-z]:[\\/]/.test(file) || file.startsWith("\\\\")) return file;
  const cut = Math.max(yamlPath.lastIndexOf("/"), yamlPath.lastIndexOf("\\"));
  return cut < 0 ? file : `${yamlPath.slice(0, cut + 1)}${file}`;
}
