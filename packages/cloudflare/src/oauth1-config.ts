// The OAuth 1.0a settings of one session (IBKR_OAUTH1_*, or ibind's IBIND_OAUTH1A_*), read by the core's
// oauth1FromEnv like every adapter, and checked so that /health can name every problem by its setting.
import {
  ENV_NAMES,
  IBAuth,
  type IBAuthOAuth1Options,
  importOAuth1SignatureKey,
  isIbauthError,
  OAUTH1_ENV_NAMES,
  OAUTH1_SHARED_OPTIONS,
  type OAuth1Credentials,
  oauth1EnvName,
  oauth1FromEnv,
} from "@ibauth/core";
import { type ConfigProblem, describeRejection, trimmed } from "./config";

/** What the core needs for an OAuth 1.0a session, the signature key already imported (non-extractable). */
export type OAuth1Settings = Pick<IBAuthOAuth1Options, "oauth1" | "domain" | "baseUrl" | "userAgent">;

/** OAuth 2.0's own settings: set together with IBKR_OAUTH1_*, the Worker would have to guess the mode. */
const OAUTH2_ONLY = [
  ENV_NAMES.clientId,
  ENV_NAMES.clientKeyId,
  ENV_NAMES.credential,
  ENV_NAMES.privateKey,
  ENV_NAMES.privateKeyFile,
  ENV_NAMES.ip,
  ENV_NAMES.alternativeIps,
  ENV_NAMES.ipLookupUrl,
];
const SHARED = Object.fromEntries(
  OAUTH1_SHARED_OPTIONS.map((option) => [option, ENV_NAMES[option]]),
) as Record<(typeof OAUTH1_SHARED_OPTIONS)[number], string>;

type Field = keyof typeof OAUTH1_ENV_NAMES;

/** The name the operator used for a field (ours, or ibind's when only that is set). */
function settingOf(vars: Record<string, unknown>, field: Field): string {
  return oauth1EnvName(vars, field) ?? (OAUTH1_ENV_NAMES[field][0] as string);
}

/** The core's `oauth1.<field>` (or a shared option) as the setting the operator set. */
function settingFor(vars: Record<string, unknown>, field: string): string {
  const own = field.replace(/^oauth1\./, "");
  if (own in OAUTH1_ENV_NAMES) return settingOf(vars, own as Field);
  return SHARED[field as keyof typeof SHARED] ?? field;
}

/**
 * Reads and checks the OAuth 1.0a settings; every problem is pushed (by setting name, never with a
 * value). The encryption key and the access-token secret are first used at the login, whose error
 * (step "lst") names them; decrypting here too would cost every new isolate an RSA decryption.
 */
export async function readOAuth1(
  env: object,
  problems: ConfigProblem[],
): Promise<{ auth: OAuth1Settings; origin: string } | undefined> {
  const vars = env as Record<string, unknown>;
  for (const setting of OAUTH2_ONLY) {
    if (trimmed(vars[setting]) !== undefined)
      problems.push({
        setting,
        problem:
          "an OAuth 2.0 setting, but IBKR_OAUTH1_* settings are set too (OAuth 1.0a): keep one mode's settings",
      });
  }
  let oauth1: OAuth1Credentials | undefined;
  try {
    oauth1 = oauth1FromEnv(env);
  } catch (error) {
    if (!isIbauthError(error)) throw error;
    // Told apart by the settings themselves, not by the wording of the core's message.
    const message = error.message.replace(/^environment: /, "");
    for (const field of (error.field ?? "").split(", ").filter(Boolean)) {
      const names = field.split(" or ");
      const setting = names[0] ?? field;
      if (names.every((n) => trimmed(vars[n]) === undefined)) problems.push({ setting, problem: "missing" });
      else if (/_(FILE|FP)$/.test(setting))
        problems.push({
          setting,
          problem:
            "a Worker cannot read files: set the value itself (the PEM text, or IBKR_OAUTH1_DH_PRIME as hex)",
        });
      else problems.push({ setting, problem: message.split(`${setting} `).join("") });
    }
  }
  if (!oauth1) return undefined;

  let signatureKey: CryptoKey | undefined;
  try {
    // once per isolate: this runs on every operation
    signatureKey = await importOAuth1SignatureKey(oauth1.signatureKey);
  } catch (error) {
    if (!isIbauthError(error)) throw error;
    // The message already ends with the hint.
    problems.push({ setting: settingOf(vars, "signatureKey"), problem: error.message.replace(/^key: /, "") });
  }
  const shared: Omit<OAuth1Settings, "oauth1"> = {};
  for (const [option, setting] of Object.entries(SHARED) as [keyof typeof SHARED, string][]) {
    const value = trimmed(vars[setting]);
    if (value !== undefined) shared[option] = value;
  }
  const auth: OAuth1Settings = {
    oauth1: { ...oauth1, signatureKey: signatureKey ?? oauth1.signatureKey },
    ...shared,
  };
  let origin: string | undefined;
  try {
    // The core's own validation (the secret's base64, the prime's hex, domain, baseUrl); the origin it
    // settles on is the only one the proxy calls.
    origin = new IBAuth(auth).status().origin;
  } catch (error) {
    if (!isIbauthError(error)) throw error;
    const fields = (error.field ?? "configuration").split(", ");
    for (const field of fields) {
      const setting = settingFor(vars, field);
      problems.push({ setting, problem: describeRejection(error.message, field, setting, vars[setting]) });
    }
  }
  if (!signatureKey || origin === undefined) return undefined;
  return { auth, origin };
}
