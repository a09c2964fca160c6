import { IBAuth, type IBAuthOptions } from "@ibauth/core";
import { parseDocument } from "yaml";
import {
  configError,
  definedOnly,
  describeReadError,
  ipList,
  missingSettings,
  readKeyFile,
} from "./config.ts";

/** The Python ibauth package's YAML keys, plus the TypeScript SDK's extras. */
const TEXT_KEYS = {
  client_id: "clientId",
  client_key_id: "clientKeyId",
  credential: "credential",
  domain: "domain",
  base_url: "baseUrl",
  ip: "ip",
  ip_lookup_url: "ipLookupUrl",
  user_agent: "userAgent",
} as const satisfies Record<string, keyof IBAuthOptions>;

/** Required keys, and the option that can stand in for each one. */
const REQUIRED = {
  client_id: "clientId",
  client_key_id: "clientKeyId",
  credential: "credential",
  private_key_file: "privateKey",
} as const satisfies Record<string, keyof IBAuthOptions>;

/**
 * Builds IBAuth options from a YAML file in the Python ibauth format (`client_id`, `client_key_id`,
 * `credential`, `private_key_file`, `domain`, ...). `private_key_file` is relative to the YAML's folder.
 * `overrides` win over the file.
 */
export function optionsFromYaml(path: string | URL, overrides: Partial<IBAuthOptions> = {}): IBAuthOptions {
  const data = readYaml(path);
  const options: Partial<IBAuthOptions> = {};
  for (const [key, option] of Object.entries(TEXT_KEYS)) {
    const value = scalar(data, key);
    if (value !== undefined) options[option] = value;
  }
  const ips = data.alternative_ips;
  if (ips !== undefined && ips !== null) {
    if (typeof ips === "string" || (Array.isArray(ips) && ips.every((ip) => typeof ip === "string"))) {
      options.alternativeIps = ipList(ips);
    } else {
      throw configError("alternative_ips must be a list of IP addresses", "alternative_ips");
    }
  }
  const missing = Object.entries(REQUIRED)
    .filter(([key, option]) => scalar(data, key) === undefined && overrides[option] === undefined)
    .map(([key]) => key);
  if (missing.length > 0) {
    throw missingSettings(
      missing,
      `keys in ${String(path)}`,
      "the file uses the Python ibauth format: client_id, client_key_id, credential, private_key_file, domain",
    );
  }
  if (overrides.privateKey === undefined) {
    options.privateKey = readKeyFile(
      besideYaml(path, scalar(data, "private_key_file") as string),
      "private_key_file",
    );
  }
  return { ...options, ...definedOnly(overrides) } as IBAuthOptions;
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

/** A setting as text: YAML reads `client_id: 12345` as a number, which is still a valid id. */
function scalar(data: Record<string, unknown>, key: string): string | undefined {
  const value = data[key];
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string") return value.trim() || undefined;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  throw configError(`${key} must be text, not ${Array.isArray(value) ? "a list" : typeof value}`, key);
}

function besideYaml(yamlPath: string | URL, file: string): string | URL {
  if (yamlPath instanceof URL) return new URL(file, yamlPath);
  if (file.startsWith("/") || /^[A-Za-z]:[\\/]/.test(file) || file.startsWith("\\\\")) return file;
  const cut = Math.max(yamlPath.lastIndexOf("/"), yamlPath.lastIndexOf("\\"));
  return cut < 0 ? file : `${yamlPath.slice(0, cut + 1)}${file}`;
}
