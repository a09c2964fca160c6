import { ENV_NAMES, IBAuth, type IBAuthOptions, isIbauthError } from "@ibauth/core";
import { deriveSessionKeys, type SessionKeys } from "./crypto";
import { isKvNamespace, type KvNamespaceLike } from "./kv";

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

export interface WorkerConfig {
  auth: Pick<
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
  >;
  /** The only origin requests are ever sent to: IBKR_BASE_URL, or https://<IBKR_DOMAIN>. */
  origin: string;
  apiKey: string;
  keys: SessionKeys;
  kv: KvNamespaceLike;
}

export type LoadedConfig = { ok: true; config: WorkerConfig } | { ok: false; problems: ConfigProblem[] };

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:]+$/;
const isIp = (value: string) => IPV4.test(value) || (value.includes(":") && IPV6.test(value));
const MIN_API_KEY_LENGTH = 24;

function trimmed(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** `wrangler secret put` from some shells stores a PEM with literal "\n": accept both forms. */
function normalisePem(value: string): string {
  return value.includes("\\n") && !value.includes("\n") ? value.replace(/\\n/g, "\n") : value;
}

/** Where requests go, as the core computes it: `https://<domain>`, or IBKR_BASE_URL with a relay's path prefix kept. */
function originOf(baseUrl: string | undefined, domain: string | undefined): string | undefined {
  if (baseUrl === undefined) return `https://${domain ?? "api.ibkr.com"}`;
  try {
    const url = new URL(baseUrl);
    return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  } catch {
    return undefined;
  }
}

/** The core's explanation of a rejected option, in the operator's terms and without the value they set. */
function describeRejection(message: string, field: string, setting: string, value: unknown): string {
  let text = message.replace(/^config: /, "");
  if (typeof value === "string" && value.trim() !== "") text = text.split(value.trim()).join("…");
  return text.split(field).join(setting);
}

/**
 * Reads and checks every setting, collecting all problems at once so /health can list them. The core's
 * own constructor validates the IBKR options too, and its `field` is mapped back to the setting name.
 */
export async function loadConfig(env: IbauthWorkerEnv): Promise<LoadedConfig> {
  const problems: ConfigProblem[] = [];
  const need = (setting: keyof IbauthWorkerEnv): string | undefined => {
    const value = trimmed(env[setting]);
    if (value === undefined) problems.push({ setting, problem: "missing" });
    return value;
  };
  const clientId = need("IBKR_CLIENT_ID");
  const credential = need("IBKR_CREDENTIAL");
  let privateKey = need("IBKR_PRIVATE_KEY");
  const apiKey = need("IBAUTH_API_KEY");
  const sessionKey = need("IBAUTH_SESSION_KEY");
  const clientKeyId = trimmed(env.IBKR_CLIENT_KEY_ID) ?? "main";
  const domain = trimmed(env.IBKR_DOMAIN);
  const baseUrl = trimmed(env.IBKR_BASE_URL);
  const ip = trimmed(env.IBKR_IP);
  const ipLookupUrl = trimmed(env.IBKR_IP_LOOKUP_URL);
  const userAgent = trimmed(env.IBAUTH_USER_AGENT);
  const alternativeIps = trimmed(env.IBKR_ALTERNATIVE_IPS)
    ?.split(/[\s,]+/)
    .filter((s) => s !== "");

  if (!isKvNamespace(env.IBAUTH_SESSIONS)) {
    problems.push({
      setting: "IBAUTH_SESSIONS",
      problem: "KV namespace binding missing (see kv_namespaces in wrangler.toml)",
    });
  }
  if (privateKey !== undefined) {
    privateKey = normalisePem(privateKey);
    if (privateKey.includes("ENCRYPTED PRIVATE KEY")) {
      problems.push({
        setting: "IBKR_PRIVATE_KEY",
        problem: "encrypted PEM is not supported: store the decrypted key as a secret",
      });
    } else if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(privateKey)) {
      problems.push({
        setting: "IBKR_PRIVATE_KEY",
        problem:
          "not a PEM private key (expected PKCS#8 'BEGIN PRIVATE KEY' or PKCS#1 'BEGIN RSA PRIVATE KEY')",
      });
    }
  }
  if (apiKey !== undefined && apiKey.length < MIN_API_KEY_LENGTH) {
    problems.push({
      setting: "IBAUTH_API_KEY",
      problem: `too short: use at least ${MIN_API_KEY_LENGTH} random characters`,
    });
  }
  if (ip !== undefined && !isIp(ip))
    problems.push({ setting: "IBKR_IP", problem: "not an IPv4 or IPv6 address" });
  if (alternativeIps?.some((value) => !isIp(value))) {
    problems.push({ setting: "IBKR_ALTERNATIVE_IPS", problem: "must be IP addresses separated by commas" });
  }
  const origin = originOf(baseUrl, domain);
  if (origin === undefined) problems.push({ setting: "IBKR_BASE_URL", problem: "not an absolute URL" });

  let keys: SessionKeys | undefined;
  if (sessionKey !== undefined) {
    try {
      keys = await deriveSessionKeys(sessionKey);
    } catch {
      problems.push({
        setting: "IBAUTH_SESSION_KEY",
        problem: "must be base64 of exactly 32 bytes (openssl rand -base64 32)",
      });
    }
  }

  const auth: WorkerConfig["auth"] = {
    clientId: clientId ?? "",
    clientKeyId,
    credential: credential ?? "",
    privateKey: privateKey ?? "",
    ...(domain !== undefined && { domain }),
    ...(baseUrl !== undefined && { baseUrl }),
    ...(ip !== undefined && { ip }),
    ...(alternativeIps !== undefined && { alternativeIps }),
    ...(ipLookupUrl !== undefined && { ipLookupUrl }),
    ...(userAgent !== undefined && { userAgent }),
  };
  if (problems.length === 0) {
    try {
      new IBAuth(auth);
    } catch (error) {
      if (!isIbauthError(error)) throw error;
      // The core names its option; the operator set the environment variable of the same meaning.
      const names: Readonly<Record<string, string>> = ENV_NAMES;
      const field = error.field ?? "configuration";
      const setting = names[field] ?? field;
      const value = env[setting as keyof IbauthWorkerEnv];
      problems.push({ setting, problem: describeRejection(error.message, field, setting, value) });
    }
  }
  if (
    problems.length > 0 ||
    !keys ||
    !apiKey ||
    origin === undefined ||
    !isKvNamespace(env.IBAUTH_SESSIONS)
  ) {
    return { ok: false, problems };
  }
  return { ok: true, config: { auth, origin, apiKey, keys, kv: env.IBAUTH_SESSIONS } };
}
