import { closest } from "./closest";
import { IbauthError } from "./errors";
import type { IBAuthOptions } from "./types";

/**
 * The settings every adapter reads, under the same names everywhere: `IBKR_*` environment variables
 * (Node, Deno, Workers) and the Python ibauth's YAML keys. Runtime-specific parts (reading a key file,
 * resolving a path against the YAML's folder) come in as `readFile`.
 */
export type Settings = Pick<
  IBAuthOptions,
  | "clientId"
  | "clientKeyId"
  | "credential"
  | "privateKey"
  | "domain"
  | "baseUrl"
  | "ip"
  | "alternativeIps"
  | "ipLookupUrl"
  | "userAgent"
>;

export interface SettingsSource {
  /** Reads a private key file; adapters resolve relative paths (a YAML file's folder, the working directory). */
  readFile?: (path: string) => string;
  /** Hears one line per ignored key (the key named, never its value); without it they pass silently. */
  warn?: (message: string) => void;
}

type Field = keyof Settings | "privateKeyFile";

export const ENV_NAMES: Readonly<Record<Field, string>> = {
  clientId: "IBKR_CLIENT_ID",
  clientKeyId: "IBKR_CLIENT_KEY_ID",
  credential: "IBKR_CREDENTIAL",
  privateKey: "IBKR_PRIVATE_KEY",
  privateKeyFile: "IBKR_PRIVATE_KEY_FILE",
  domain: "IBKR_DOMAIN",
  baseUrl: "IBKR_BASE_URL",
  ip: "IBKR_IP",
  alternativeIps: "IBKR_ALTERNATIVE_IPS",
  ipLookupUrl: "IBKR_IP_LOOKUP_URL",
  userAgent: "IBAUTH_USER_AGENT",
};

/** The Python ibauth's keys (the first five), then ours. */
export const YAML_KEYS: Readonly<Record<Field, string>> = {
  clientId: "client_id",
  clientKeyId: "client_key_id",
  credential: "credential",
  privateKey: "private_key",
  privateKeyFile: "private_key_file",
  domain: "domain",
  baseUrl: "base_url",
  ip: "ip",
  alternativeIps: "alternative_ips",
  ipLookupUrl: "ip_lookup_url",
  userAgent: "user_agent",
};

const REQUIRED: readonly Field[] = ["clientId", "clientKeyId", "credential"];

function settingsError(message: string, field: string): IbauthError {
  return new IbauthError(message, { code: "ERR_CONFIG", step: "config", field });
}

/** Assembles settings from raw values; `names` maps each field to what the user wrote (env var or YAML key). */
function assemble(
  raw: Partial<Record<Field, string | string[] | undefined>>,
  names: Readonly<Record<Field, string>>,
  where: string,
  source: SettingsSource,
): Settings {
  const text = (f: Field) => {
    const value = raw[f];
    return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
  };
  const missing = REQUIRED.filter((f) => text(f) === undefined).map((f) => names[f]);
  if (text("privateKey") === undefined && text("privateKeyFile") === undefined)
    missing.push(`${names.privateKey} or ${names.privateKeyFile}`);
  if (missing.length) throw settingsError(`${where}: missing ${missing.join(", ")}`, missing.join(", "));

  let privateKey = text("privateKey");
  // Secrets stores and .env files often hold a PEM on one line with literal "\n".
  if (privateKey?.includes("\\n")) privateKey = privateKey.replace(/\\n/g, "\n");
  const file = text("privateKeyFile");
  if (privateKey === undefined && file !== undefined) {
    if (!source.readFile)
      throw settingsError(
        `${where}: ${names.privateKeyFile} cannot be read in this runtime; set ${names.privateKey}`,
        names.privateKeyFile,
      );
    try {
      privateKey = source.readFile(file);
    } catch (e) {
      const reason = e instanceof Error && "code" in e ? ` (${String((e as { code: unknown }).code)})` : "";
      throw settingsError(
        `${where}: cannot read the private key file ${file}${reason}`,
        names.privateKeyFile,
      );
    }
  }
  const ips = raw.alternativeIps;
  const alternativeIps = (Array.isArray(ips) ? ips : (ips ?? "").split(","))
    .map((s) => String(s).trim())
    .filter(Boolean);
  const optional = (f: Field) => (text(f) === undefined ? {} : { [f]: text(f) });
  return {
    clientId: text("clientId") as string,
    clientKeyId: text("clientKeyId") as string,
    credential: text("credential") as string,
    privateKey: privateKey as string,
    ...optional("domain"),
    ...optional("baseUrl"),
    ...optional("ip"),
    ...optional("ipLookupUrl"),
    ...optional("userAgent"),
    ...(alternativeIps.length ? { alternativeIps } : {}),
  };
}

/** IBAuth settings from `IBKR_*` variables (a Worker's `env`, `process.env`, `Deno.env.toObject()`). Every missing one is named. */
export function settingsFromEnv(env: object, source: SettingsSource = {}): Settings {
  const raw: Partial<Record<Field, string>> = {};
  for (const [field, name] of Object.entries(ENV_NAMES) as [Field, string][]) {
    const value = (env as Record<string, unknown>)[name];
    if (typeof value === "string") raw[field] = value;
  }
  return assemble(raw, ENV_NAMES, "environment", source);
}

/**
 * The rule for a config key no adapter uses, shared by every adapter: a near-typo of a known key
 * (`client-id`) is refused with "did you mean", so it cannot read as "missing client_id"; any other key
 * is ignored, as the Python ibauth ignores keys it does not use, and the returned warning names the key,
 * never its value. `where` prefixes both (a file, or file:line:col).
 */
export function unknownKeyWarning(key: string, known: Iterable<string>, where: string): string {
  const guess = closest(key, known);
  if (guess) throw settingsError(`${where}: unknown key ${key}; did you mean ${guess}?`, key);
  return `${where}: unknown key ${key} ignored`;
}

/**
 * IBAuth settings from a parsed config file in the Python ibauth format. Unknown keys follow
 * `unknownKeyWarning` (warned through `source.warn`, near-typos refused). `extraKeys` are keys an adapter
 * handles itself.
 */
export function settingsFromConfigFile(
  data: unknown,
  where: string,
  source: SettingsSource = {},
  extraKeys: readonly string[] = [],
): Settings {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw settingsError(
      `${where}: expected key: value pairs (client_id, client_key_id, credential, private_key_file, domain)`,
      "file",
    );
  }
  const entries = data as Record<string, unknown>;
  const known = new Set([...Object.values(YAML_KEYS), ...extraKeys]);
  // Every key is judged before any warning goes out: a refused file warns about nothing.
  const warnings = Object.keys(entries)
    .filter((k) => !known.has(k))
    .map((k) => unknownKeyWarning(k, known, where));
  for (const warning of warnings) source.warn?.(warning);
  const raw: Partial<Record<Field, string | string[]>> = {};
  for (const [field, key] of Object.entries(YAML_KEYS) as [Field, string][]) {
    const value = entries[key];
    if (value === undefined || value === null) continue;
    if (field === "alternativeIps" && Array.isArray(value)) raw[field] = value.map(String);
    else if (typeof value === "string" || typeof value === "number") raw[field] = String(value);
    else throw settingsError(`${where}: ${key} must be a string`, key);
  }
  return assemble(raw, YAML_KEYS, where, source);
}
