import {
  ENV_NAMES,
  IBAuth,
  type IBAuthOAuth1Options,
  type IBAuthOptions,
  importPrivateKey,
  isIbauthError,
  isIp,
  type Settings,
  settingsFromEnv,
  usesOAuth1Env,
} from "@ibauth/core";
import { deriveSessionKeys, type SessionKeys } from "./crypto";
import { apiKeyProblem } from "./key-strength";
import { isKvNamespace, type KvNamespaceLike } from "./kv";
import { type OAuth1Settings, readOAuth1 } from "./oauth1-config";
import type { WorkerSettings } from "./settings";

/** The Worker's bindings: vars, secrets and the KV namespace. Every setting is read from here. */
export interface IbauthWorkerEnv {
  IBKR_CLIENT_ID?: string;
  IBKR_CLIENT_KEY_ID?: string;
  IBKR_CREDENTIAL?: string;
  IBKR_PRIVATE_KEY?: string;
  IBKR_DOMAIN?: string;
  IBKR_BASE_URL?: string;
  IBKR_IP?: string;
  IBKR_ALTERNATIVE_IPS?: string;
  IBKR_IP_LOOKUP_URL?: string;
  IBAUTH_USER_AGENT?: string;
  /**
   * OAuth 1.0a (Self-Service Portal) instead of OAuth 2.0: any of these selects it, and then no OAuth 2.0
   * setting above may be set. Keys and the DH prime as text (a Worker has no files); ibind's
   * IBIND_OAUTH1A_* names are read too.
   */
  IBKR_OAUTH1_CONSUMER_KEY?: string;
  IBKR_OAUTH1_ACCESS_TOKEN?: string;
  /** The encrypted base64 secret as the portal shows it. */
  IBKR_OAUTH1_ACCESS_TOKEN_SECRET?: string;
  /** PEM text (PKCS#8 or PKCS#1); a one-line value with literal "\n" is read too. */
  IBKR_OAUTH1_SIGNATURE_KEY?: string;
  IBKR_OAUTH1_ENCRYPTION_KEY?: string;
  /** Hex (`openssl dhparam -in dhparam.pem -text`'s prime, colons and spaces removed). */
  IBKR_OAUTH1_DH_PRIME?: string;
  IBKR_OAUTH1_DH_GENERATOR?: string;
  /** Default limited_poa (test_realm for TESTCONS). */
  IBKR_OAUTH1_REALM?: string;
  IBAUTH_API_KEY?: string;
  IBAUTH_SESSION_KEY?: string;
  IBAUTH_SESSIONS?: KvNamespaceLike;
  /** debug | info | warn | error | silent. Default info. */
  IBAUTH_LOG_LEVEL?: string;
}

/** A setting that is missing or invalid. Never carries the value. */
export interface ConfigProblem {
  setting: string;
  problem: string;
}

/** One IBKR session's configuration, wherever it is stored (KV or a Durable Object). */
export interface SessionConfig {
  /** The IBKR settings (OAuth 2.0 or 1.0a), with the signing key already imported (non-extractable). */
  auth: Settings | OAuth1Settings;
  /** The only origin requests are ever sent to: IBKR_BASE_URL, or https://<IBKR_DOMAIN>. */
  origin: string;
  apiKey: string;
  keys: SessionKeys;
}

export interface WorkerConfig extends SessionConfig {
  kv: KvNamespaceLike;
}

export type Loaded<T> = { ok: true; config: T } | { ok: false; problems: ConfigProblem[] };
export type LoadedConfig = Loaded<WorkerConfig>;

const MIN_API_KEY_LENGTH = 24;

export function trimmed(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** The core's explanation of a rejected option, in the operator's terms and without the value they set. */
export function describeRejection(message: string, field: string, setting: string, value: unknown): string {
  let text = message.replace(/^config: /, "");
  if (typeof value === "string" && value.trim() !== "") text = text.split(value.trim()).join("…");
  return text.split(field).join(setting);
}

/** The KV mode's configuration: the session's settings and the IBAUTH_SESSIONS namespace. */
export async function loadConfig(env: IbauthWorkerEnv): Promise<LoadedConfig> {
  const loaded = await loadSessionConfig(env);
  const kv = env.IBAUTH_SESSIONS;
  const problems = loaded.ok ? [] : loaded.problems;
  if (!isKvNamespace(kv)) {
    problems.push({
      setting: "IBAUTH_SESSIONS",
      problem: "KV namespace binding missing (see kv_namespaces in wrangler.toml)",
    });
  }
  if (!loaded.ok || !isKvNamespace(kv)) return { ok: false, problems };
  return { ok: true, config: { ...loaded.config, kv } };
}

/**
 * Reads and checks every setting of one session, collecting all problems at once so /health can list
 * them: OAuth 1.0a when any IBKR_OAUTH1_* setting is set, else OAuth 2.0, and the Worker's own keys.
 */
export async function loadSessionConfig(env: IbauthWorkerEnv): Promise<Loaded<SessionConfig>> {
  const problems: ConfigProblem[] = [];
  const need = (setting: keyof IbauthWorkerEnv): string | undefined => {
    const value = trimmed(env[setting]);
    if (value === undefined) problems.push({ setting, problem: "missing" });
    return value;
  };
  const ibkr = usesOAuth1Env(env) ? await readOAuth1(env, problems) : await readOAuth2(env, problems);
  const apiKey = need("IBAUTH_API_KEY");
  const sessionKey = need("IBAUTH_SESSION_KEY");
  const weakApiKey = apiKey === undefined ? undefined : apiKeyProblem(apiKey, MIN_API_KEY_LENGTH);
  if (weakApiKey) problems.push({ setting: "IBAUTH_API_KEY", problem: weakApiKey });

  let keys: SessionKeys | undefined;
  if (sessionKey !== undefined) {
    try {
      keys = await deriveSessionKeys(sessionKey);
    } catch (error) {
      if (!isIbauthError(error)) throw error;
      problems.push({ setting: "IBAUTH_SESSION_KEY", problem: error.message.replace(/^config: /, "") });
    }
  }
  if (problems.length > 0 || !ibkr || !keys || !apiKey) return { ok: false, problems };
  return { ok: true, config: { ...ibkr, apiKey, keys } };
}

/** The OAuth 2.0 settings, read as every adapter reads them; a Worker has no files, so the key is IBKR_PRIVATE_KEY. */
async function readOAuth2(
  env: IbauthWorkerEnv,
  problems: ConfigProblem[],
): Promise<{ auth: Settings; origin: string } | undefined> {
  let settings: ReturnType<typeof settingsFromEnv> | undefined;
  try {
    settings = settingsFromEnv(env);
  } catch (error) {
    if (!isIbauthError(error)) throw error;
    const missing = error.message.includes("missing") ? (error.field ?? "").split(", ") : [];
    for (const name of missing) problems.push({ setting: name.split(" or ")[0] ?? name, problem: "missing" });
    if (!missing.length)
      problems.push({
        setting: ENV_NAMES.privateKey,
        problem: "set the PEM text itself: a Worker cannot read files",
      });
  }
  if (!settings) return undefined;

  // Checked now, not at the first login, so /health can say so; the imported key is what the session signs with.
  let signingKey: CryptoKey | undefined;
  try {
    signingKey = await importPrivateKey(settings.privateKey as string);
  } catch (error) {
    if (!isIbauthError(error)) throw error;
    // The message already ends with the hint.
    problems.push({ setting: ENV_NAMES.privateKey, problem: error.message.replace(/^key: /, "") });
  }
  // A problem here fails the whole configuration (loadSessionConfig checks `problems`).
  if (settings.ip !== undefined && !isIp(settings.ip))
    problems.push({ setting: ENV_NAMES.ip, problem: "not an IPv4 or IPv6 address" });
  if (settings.alternativeIps?.some((value) => !isIp(value))) {
    problems.push({ setting: ENV_NAMES.alternativeIps, problem: "must be IP addresses separated by commas" });
  }

  let origin: string | undefined;
  try {
    // The core's own validation (domain, baseUrl, URLs), reported with the other problems; the IPs are
    // checked above (the core would stop at them). The origin it settles on is the only one the proxy calls.
    const { ip: _ip, alternativeIps: _alternatives, ...rest } = settings;
    origin = new IBAuth({ ...rest, privateKey: signingKey ?? settings.privateKey }).status().origin;
  } catch (error) {
    if (!isIbauthError(error)) throw error;
    // The core names its option; the operator set the environment variable of the same meaning.
    const names: Readonly<Record<string, string>> = ENV_NAMES;
    const field = error.field ?? "configuration";
    const setting = names[field] ?? field;
    const value = env[setting as keyof IbauthWorkerEnv];
    problems.push({ setting, problem: describeRejection(error.message, field, setting, value) });
  }
  if (!signingKey || origin === undefined) return undefined;
  return { auth: { ...settings, privateKey: signingKey }, origin };
}

/**
 * The core's options for one session: the Worker's shared `auth` options under the session's own. OAuth
 * 2.0's `scope` does not apply to OAuth 1.0a and is left out there (the core refuses it).
 */
export function coreOptions(
  shared: WorkerSettings["auth"],
  auth: SessionConfig["auth"],
): IBAuthOptions | IBAuthOAuth1Options {
  if (!("oauth1" in auth)) return { ...shared, ...auth };
  const { scope: _scope, ...rest } = shared;
  return { ...rest, ...auth };
}
