import {
  IBAuth,
  type IBAuthOAuth1Options,
  type IBAuthOptions,
  IbauthError,
  isIbauthError,
  OAUTH1_SHARED_OPTIONS,
} from "@ibauth/core";
import { fileStore } from "./file-store";
import { type KeyInfo, type LoadedKey, loadPrivateKey, loadPrivateKeyFile } from "./keys";
import { readEnvSettings, readYamlSettings, type Settings } from "./settings";

/** Options that win over the file or the environment: a logger, a store, a fetch, or any field. */
export type AuthOverrides = Partial<IBAuthOptions>;

/** An IBAuth plus what was learned while building it (for `ibauth check` and the CLI). */
export interface ResolvedAuth {
  auth: IBAuth;
  /** Absent when the caller passed `privateKey` in the overrides. */
  key?: KeyInfo;
  sessionFile?: string;
  settings: Settings;
}

const REQUIRED = ["clientId", "clientKeyId", "credential"] as const;

/** Throws one ERR_CONFIG naming every required key the settings (and overrides) lack. */
export function assertComplete(settings: Settings, overrides: AuthOverrides = {}): void {
  const { values, names, source } = settings;
  const missing: string[] = REQUIRED.filter((f) => overrides[f] === undefined && !values[f]).map(
    (f) => names[f],
  );
  if (overrides.privateKey === undefined && !values.privateKeyFile && !values.privateKey) {
    missing.push(`${names.privateKeyFile} or ${names.privateKey}`);
  }
  if (missing.length > 0) {
    throw new IbauthError(`${source}: missing ${missing.join(", ")}`, {
      code: "ERR_CONFIG",
      step: "config",
      field: missing[0],
    });
  }
}

/** The private key the settings name: inline PEM text or a file. */
export function loadSettingsKey({ values, names }: Settings): Promise<LoadedKey> {
  return values.privateKey
    ? loadPrivateKey(values.privateKey, names.privateKey)
    : loadPrivateKeyFile(values.privateKeyFile!);
}

/** Builds an IBAuth from settings; every problem is an IbauthError naming the source and its keys. */
export async function resolveAuth(settings: Settings, overrides: AuthOverrides = {}): Promise<ResolvedAuth> {
  if (settings.oauth1) return resolveOAuth1(settings, overrides);
  assertComplete(settings, overrides);
  // Through the caller's logger; without one, as a Node warning (shown once per process on stderr).
  for (const warning of settings.warnings) {
    if (overrides.logger) overrides.logger.warn({ step: "config" }, warning);
    else process.emitWarning(warning, "IbauthWarning");
  }
  const { values, names, source } = settings;
  let key: KeyInfo | undefined;
  let privateKey = overrides.privateKey;
  if (privateKey === undefined) {
    const loaded = await loadSettingsKey(settings);
    key = loaded.info;
    privateKey = loaded.cryptoKey;
  }
  const options: IBAuthOptions = {
    clientId: values.clientId!,
    clientKeyId: values.clientKeyId!,
    credential: values.credential!,
    privateKey,
    ...(values.domain ? { domain: values.domain } : {}),
    ...(values.baseUrl ? { baseUrl: values.baseUrl } : {}),
    ...(values.ip ? { ip: values.ip } : {}),
    ...(settings.alternativeIps ? { alternativeIps: settings.alternativeIps } : {}),
    ...(values.ipLookupUrl ? { ipLookupUrl: values.ipLookupUrl } : {}),
    ...(values.userAgent ? { userAgent: values.userAgent } : {}),
    ...(values.sessionFile ? { store: fileStore(values.sessionFile) } : {}),
    ...overrides,
  };
  try {
    return {
      auth: new IBAuth(options),
      settings,
      ...(key ? { key } : {}),
      ...(values.sessionFile ? { sessionFile: values.sessionFile } : {}),
    };
  } catch (error) {
    // The core names its option (baseUrl); the user wrote base_url on some line of some file.
    if (isIbauthError(error) && error.code === "ERR_CONFIG" && error.field) {
      const field = error.field as keyof Settings["names"];
      const name = names[field] ?? error.field;
      const where = settings.positions[field] ?? source;
      const detail = error.message.replace(/^config: /, "");
      throw new IbauthError(`${where}: ${detail.includes(name) ? "" : `${name}: `}${detail}`, {
        code: "ERR_CONFIG",
        step: "config",
        field: name,
        cause: error,
      });
    }
    throw error;
  }
}

/** OAuth 1.0a mode: the credentials are complete (the settings reader checked them); the rest is shared. */
function resolveOAuth1(settings: Settings, overrides: AuthOverrides): ResolvedAuth {
  const { values } = settings;
  const options = {
    oauth1: settings.oauth1,
    ...Object.fromEntries(OAUTH1_SHARED_OPTIONS.flatMap((o) => (values[o] ? [[o, values[o]]] : []))),
    ...(values.sessionFile ? { store: fileStore(values.sessionFile) } : {}),
    ...overrides,
  } as IBAuthOAuth1Options;
  return {
    auth: new IBAuth(options),
    settings,
    ...(values.sessionFile ? { sessionFile: values.sessionFile } : {}),
  };
}

/**
 * An IBAuth from a YAML file with the Python ibauth's keys (`client_id`, `client_key_id`,
 * `credential`, `private_key_file`, `domain`, and optional `base_url`, `ip`, `alternative_ips`,
 * `ip_lookup_url`, `session_file`, `user_agent`), or, for OAuth 1.0a, an `oauth1:` mapping
 * (`consumer_key`, `access_token`, `access_token_secret`, `signature_key_file`, `encryption_key_file`,
 * `dh_prime` or `dh_param_file`, `realm`). Relative paths resolve against the file's folder;
 * `session_file` makes the session survive restarts (see fileStore).
 */
export async function authFromYaml(path: string, overrides?: AuthOverrides): Promise<IBAuth> {
  return (await resolveAuth(await readYamlSettings(path), overrides)).auth;
}

/**
 * An IBAuth from IBKR_CLIENT_ID, IBKR_CLIENT_KEY_ID, IBKR_CREDENTIAL, IBKR_PRIVATE_KEY (PEM text) or
 * IBKR_PRIVATE_KEY_FILE, IBKR_DOMAIN, IBKR_BASE_URL, IBKR_IP, IBKR_ALTERNATIVE_IPS (comma-separated)
 * and IBKR_IP_LOOKUP_URL; or, for OAuth 1.0a, IBKR_OAUTH1_* (ibind's IBIND_OAUTH1A_* names work too).
 * Pass `{ store: fileStore(path) }` to keep the session across restarts.
 */
export async function authFromEnv(
  overrides?: AuthOverrides,
  env: Record<string, string | undefined> = process.env,
): Promise<IBAuth> {
  return (await resolveAuth(readEnvSettings(env), overrides)).auth;
}
