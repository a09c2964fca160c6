import { IBAuth, type IBAuthOptions, settingsFromConfigFile, YAML_KEYS } from "@ibauth/core";
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
  const data = readYaml(path);
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
  const warn = (message: string) =>
    overrides.logger
      ? overrides.logger.warn({ step: "config" }, message)
      : console.warn(`ibauth warning: ${message}`);
  const settings = settingsFromConfigFile(withOverrides(data, YAML_KEYS, overrides), String(path), {
    warn,
  });
  if (overrides.privateKey === undefined) checkPem(settings.privateKey as string, keyFrom);
  return { ...settings, ...definedOnly(overrides) };
}

/** `new IBAuth(optionsFromYaml(path, overrides))`. */
export function authFromYaml(path: string | URL, overrides: Partial<IBAuthOptions> = {}): IBAuth {
  return new IBAuth(optionsFromYaml(path, overrides));
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
