// OAuth 1.0a settings from the environment (IBKR_OAUTH1_*, and ibind's IBIND_OAUTH1A_* for people moving
// from ibind) or from the `oauth1:` mapping of a config file, and the DH prime from a dhparam.pem.
import { IbauthError } from "../errors";
import { base64ToBytes, pemBlock } from "../keys";
import type { SettingsSource } from "../settings";
import type { OAuth1Credentials } from "../types";
import { bigIntToHex } from "./bigint";
import { Der } from "./der";

type Field =
  | "consumerKey"
  | "accessToken"
  | "accessTokenSecret"
  | "signatureKey"
  | "signatureKeyFile"
  | "encryptionKey"
  | "encryptionKeyFile"
  | "dhPrime"
  | "dhParamFile"
  | "dhGenerator"
  | "realm";

/** Ours first; ibind's names (which hold the same values) are read when ours are absent. */
export const OAUTH1_ENV_NAMES: Readonly<Record<Field, readonly string[]>> = {
  consumerKey: ["IBKR_OAUTH1_CONSUMER_KEY", "IBIND_OAUTH1A_CONSUMER_KEY"],
  accessToken: ["IBKR_OAUTH1_ACCESS_TOKEN", "IBIND_OAUTH1A_ACCESS_TOKEN"],
  accessTokenSecret: ["IBKR_OAUTH1_ACCESS_TOKEN_SECRET", "IBIND_OAUTH1A_ACCESS_TOKEN_SECRET"],
  signatureKey: ["IBKR_OAUTH1_SIGNATURE_KEY", "IBIND_OAUTH1A_SIGNATURE_KEY"],
  signatureKeyFile: ["IBKR_OAUTH1_SIGNATURE_KEY_FILE", "IBIND_OAUTH1A_SIGNATURE_KEY_FP"],
  encryptionKey: ["IBKR_OAUTH1_ENCRYPTION_KEY", "IBIND_OAUTH1A_ENCRYPTION_KEY"],
  encryptionKeyFile: ["IBKR_OAUTH1_ENCRYPTION_KEY_FILE", "IBIND_OAUTH1A_ENCRYPTION_KEY_FP"],
  dhPrime: ["IBKR_OAUTH1_DH_PRIME", "IBIND_OAUTH1A_DH_PRIME"],
  dhParamFile: ["IBKR_OAUTH1_DH_PARAM_FILE"],
  dhGenerator: ["IBKR_OAUTH1_DH_GENERATOR", "IBIND_OAUTH1A_DH_GENERATOR"],
  realm: ["IBKR_OAUTH1_REALM", "IBIND_OAUTH1A_REALM"],
};

/** The options an OAuth 1.0a session takes besides its credentials; every other setting is OAuth 2.0's. */
export const OAUTH1_SHARED_OPTIONS = ["domain", "baseUrl", "userAgent"] as const;

/** The keys of the `oauth1:` mapping in a config file. */
export const OAUTH1_YAML_KEYS: Readonly<Record<Field, string>> = {
  consumerKey: "consumer_key",
  accessToken: "access_token",
  accessTokenSecret: "access_token_secret",
  signatureKey: "signature_key",
  signatureKeyFile: "signature_key_file",
  encryptionKey: "encryption_key",
  encryptionKeyFile: "encryption_key_file",
  dhPrime: "dh_prime",
  dhParamFile: "dh_param_file",
  dhGenerator: "dh_generator",
  realm: "realm",
};

function settingsError(message: string, field: string): IbauthError {
  return new IbauthError(message, { code: "ERR_CONFIG", step: "config", field });
}

/** p and g from a PEM "DH PARAMETERS" block (PKCS#3, what `openssl dhparam` writes). */
export function dhParamsFromPem(pem: string): { dhPrime: string; dhGenerator: number } {
  const block = pemBlock(pem);
  if (block?.label !== "DH PARAMETERS")
    throw new Error('not a "DH PARAMETERS" PEM (make one with `openssl dhparam -outform PEM 2048`)');
  try {
    const params = new Der(new Der(base64ToBytes(block.body)).read(0x30));
    const prime = params.integer();
    const generator = params.integer();
    return { dhPrime: bigIntToHex(prime), dhGenerator: Number(generator) };
  } catch {
    throw new Error("the DH parameters could not be read (is the file truncated?)");
  }
}

function assemble(
  text: (f: Field) => string | undefined,
  name: (f: Field) => string,
  where: string,
  source: SettingsSource,
): OAuth1Credentials {
  const missing: string[] = [];
  for (const f of ["consumerKey", "accessToken", "accessTokenSecret"] as const)
    if (text(f) === undefined) missing.push(name(f));
  const either = (a: Field, b: Field) => {
    if (text(a) === undefined && text(b) === undefined) missing.push(`${name(a)} or ${name(b)}`);
  };
  either("signatureKey", "signatureKeyFile");
  either("encryptionKey", "encryptionKeyFile");
  either("dhPrime", "dhParamFile");
  if (missing.length) throw settingsError(`${where}: missing ${missing.join(", ")}`, missing.join(", "));

  const read = (f: Field): string => {
    const path = text(f) as string;
    if (!source.readFile)
      throw settingsError(
        `${where}: ${name(f)} cannot be read in this runtime; set the value itself`,
        name(f),
      );
    try {
      return source.readFile(path);
    } catch (e) {
      const reason = e instanceof Error && "code" in e ? ` (${String((e as { code: unknown }).code)})` : "";
      throw settingsError(`${where}: cannot read ${name(f)} ${path}${reason}`, name(f));
    }
  };
  // secrets stores and .env files often hold a PEM on one line with literal "\n"
  const pem = (inline: Field, file: Field) => {
    const value = text(inline);
    return value === undefined ? read(file) : value.replace(/\\n/g, "\n");
  };
  let dhPrime = text("dhPrime");
  let dhGenerator = text("dhGenerator") === undefined ? undefined : Number(text("dhGenerator"));
  if (dhPrime === undefined) {
    try {
      const params = dhParamsFromPem(read("dhParamFile"));
      dhPrime = params.dhPrime;
      dhGenerator ??= params.dhGenerator;
    } catch (e) {
      if (e instanceof IbauthError) throw e;
      throw settingsError(`${where}: ${name("dhParamFile")}: ${(e as Error).message}`, name("dhParamFile"));
    }
  }
  if (dhGenerator !== undefined && !Number.isInteger(dhGenerator))
    throw settingsError(
      `${where}: ${name("dhGenerator")} must be an integer (IBKR uses 2)`,
      name("dhGenerator"),
    );
  const realm = text("realm");
  return {
    consumerKey: text("consumerKey") as string,
    accessToken: text("accessToken") as string,
    accessTokenSecret: text("accessTokenSecret") as string,
    signatureKey: pem("signatureKey", "signatureKeyFile"),
    encryptionKey: pem("encryptionKey", "encryptionKeyFile"),
    dhPrime,
    ...(dhGenerator === undefined ? {} : { dhGenerator }),
    ...(realm === undefined ? {} : { realm }),
  };
}

const trimmed = (value: unknown) =>
  typeof value === "string" && value.trim() !== ""
    ? value.trim()
    : typeof value === "number"
      ? String(value)
      : undefined;

/**
 * OAuth 1.0a credentials from IBKR_OAUTH1_* (or ibind's IBIND_OAUTH1A_*) variables, or `undefined` when
 * none is set. File variables are read with `source.readFile`. Every missing one is named.
 */
export function oauth1FromEnv(env: object, source: SettingsSource = {}): OAuth1Credentials | undefined {
  if (!usesOAuth1Env(env)) return undefined;
  const vars = env as Record<string, unknown>;
  const text = (f: Field) => {
    const n = oauth1EnvName(env, f);
    return n === undefined ? undefined : trimmed(vars[n]);
  };
  return assemble(
    text,
    (f) => oauth1EnvName(env, f) ?? (OAUTH1_ENV_NAMES[f][0] as string),
    "environment",
    source,
  );
}

/** The variable the operator set for a field: ours, or ibind's when only that is set; undefined if neither. */
export function oauth1EnvName(env: object, field: keyof typeof OAUTH1_ENV_NAMES): string | undefined {
  const vars = env as Record<string, unknown>;
  return OAUTH1_ENV_NAMES[field].find((n) => trimmed(vars[n]) !== undefined);
}

/** Whether any IBKR_OAUTH1_* (or IBIND_OAUTH1A_*) variable is set: the session is then OAuth 1.0a. */
export function usesOAuth1Env(env: object): boolean {
  return (Object.keys(OAUTH1_ENV_NAMES) as Field[]).some((f) => oauth1EnvName(env, f) !== undefined);
}

/** OAuth 1.0a credentials from the `oauth1:` mapping of a config file; unknown keys are refused by name. */
export function oauth1FromConfig(
  data: unknown,
  where: string,
  source: SettingsSource = {},
): OAuth1Credentials {
  if (typeof data !== "object" || data === null || Array.isArray(data))
    throw settingsError(`${where}: oauth1 must be a mapping (consumer_key, access_token, …)`, "oauth1");
  const entries = data as Record<string, unknown>;
  const known = new Set(Object.values(OAUTH1_YAML_KEYS));
  const unknown = Object.keys(entries).filter((k) => !known.has(k));
  if (unknown.length)
    throw settingsError(
      `${where}: unknown oauth1 key${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")} (known: ${[...known].join(", ")})`,
      unknown.join(", "),
    );
  return assemble(
    (f) => trimmed(entries[OAUTH1_YAML_KEYS[f]]),
    (f) => `oauth1.${OAUTH1_YAML_KEYS[f]}`,
    where,
    source,
  );
}
