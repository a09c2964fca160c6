import { IbauthError } from "@ibauth/core";

/** One ERR_CONFIG naming every missing setting at once, so a user fixes them in one go. */
export function missingSettings(names: string[], where: string, hint: string): IbauthError {
  return new IbauthError(`missing ${where}: ${names.join(", ")}`, {
    code: "ERR_CONFIG",
    step: "config",
    field: names.join(","),
    hint,
  });
}

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

/** "1.2.3.4, 5.6.7.8" or a list -> trimmed, non-empty strings. */
export function ipList(value: string | string[]): string[] {
  const items = Array.isArray(value) ? value : value.split(",");
  return items.map((ip) => ip.trim()).filter((ip) => ip !== "");
}

/** Overrides without their `undefined` entries, so an unset override does not erase a configured value. */
export function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
