import { type IBAuthOptions, IbauthError } from "@ibauth/core";

export function configError(message: string, field: string, hint?: string, cause?: unknown): IbauthError {
  return new IbauthError(message, {
    code: "ERR_CONFIG",
    step: "config",
    field,
    ...(hint ? { hint } : {}),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** Names a Deno file error without echoing anything but the path (never the file's content). */
export function describeReadError(error: unknown): { reason: string; hint?: string } {
  if (error instanceof Deno.errors.NotFound) return { reason: "no such file" };
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return {
      reason: "not allowed to read it",
      hint: "run deno with --allow-read (or --allow-read=<that file>)",
    };
  }
  if (error instanceof Deno.errors.IsADirectory) return { reason: "it is a directory" };
  return { reason: error instanceof Error ? error.name : "unreadable" };
}

const PEM_PRIVATE = /-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----/;

/**
 * Checks early that a key looks like a PEM private key, so a wrong file fails at startup instead of at
 * the first login. The message names the setting, never the key text.
 */
export function checkPem(text: string, field: string): string {
  const match = PEM_PRIVATE.exec(text);
  if (match?.[1] === "ENCRYPTED ") {
    throw new IbauthError(`${field} holds an encrypted private key`, {
      code: "ERR_KEY",
      step: "key",
      field,
      hint: "decrypt it first: openssl pkcs8 -in key.pem -out key-plain.pem",
    });
  }
  if (!match) {
    const isPublic = text.includes("PUBLIC KEY-----");
    throw new IbauthError(`${field} does not hold a PEM private key`, {
      code: "ERR_KEY",
      step: "key",
      field,
      hint: isPublic
        ? "that is the public key you registered with IBKR; give the matching private key"
        : 'expected "-----BEGIN PRIVATE KEY-----" (PKCS#8) or "-----BEGIN RSA PRIVATE KEY-----" (PKCS#1)',
    });
  }
  return text;
}

/** Reads a PEM key file; errors name the setting and path only. */
export function readKeyFile(path: string | URL, field: string): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    const { reason, hint } = describeReadError(error);
    throw configError(`cannot read the private key file ${String(path)}: ${reason}`, field, hint, error);
  }
  return checkPem(text, field);
}

/** Overrides without their `undefined` entries, so an unset override does not erase a configured value. */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A value standing in for a privateKey given in overrides (maybe a CryptoKey) during the core's checks. */
const KEY_FROM_OVERRIDES = "(privateKey from overrides)";

/**
 * Raw settings (env variables or YAML keys, named by `names`) with the required ones that the caller
 * passed as overrides filled in, so the core's "missing" check counts them. The overrides themselves are
 * applied afterwards, unchanged.
 */
export function withOverrides<T extends Record<string, unknown>>(
  raw: T,
  names: Readonly<
    Record<"clientId" | "clientKeyId" | "credential" | "privateKey" | "privateKeyFile", string>
  >,
  given: Partial<IBAuthOptions>,
): T {
  const out: Record<string, unknown> = { ...raw };
  for (const field of ["clientId", "clientKeyId", "credential"] as const) {
    if (given[field] !== undefined) out[names[field]] = given[field];
  }
  if (given.privateKey !== undefined) {
    out[names.privateKey] = KEY_FROM_OVERRIDES;
    delete out[names.privateKeyFile];
  }
  return out as T;
}
