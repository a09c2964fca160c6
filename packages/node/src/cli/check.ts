import {
  checkOAuth1,
  IbauthError,
  OAUTH1_YAML_KEYS,
  type OAuth1Credentials,
  type OAuth1Finding,
  silentLogger,
} from "@ibauth/core";
import { assertComplete, loadSettingsKey, resolveAuth } from "../auth-from";
import { readYamlSettings, type Settings } from "../settings";
import type { CliContext } from "./context";

/** `ibauth check`: the config and the key, offline. Problems throw (exit 2); doubts are warnings. */
export async function checkCommand(ctx: CliContext): Promise<void> {
  const out = ctx.output;
  const path = ctx.options.config;
  const settings = await out.step(
    "config",
    async () => {
      const read = await readYamlSettings(path);
      if (!read.oauth1) assertComplete(read);
      return read;
    },
    (read) => (read.oauth1 ? `${path} (OAuth 1.0a)` : path),
  );
  if (settings.oauth1) return checkOAuth1Config(ctx, settings, settings.oauth1);
  const loaded = await out.step(
    "private key",
    () => loadSettingsKey(settings),
    ({ info }) => `RSA ${info.bits}-bit, ${info.format}${info.mode ? `, mode ${info.mode}` : ""}`,
  );
  // Building the IBAuth checks every other option (domain, URLs, IPs) without sending a request.
  const resolved = await out.step(
    "endpoints",
    () => resolveAuth(settings, { logger: silentLogger, privateKey: loaded.cryptoKey }),
    (r) => `${r.auth.status().origin}${settings.values.ip ? `, ip ${settings.values.ip}` : ""}`,
  );
  const key = loaded.info;
  const warnings = [...settings.warnings, ...key.warnings];
  out.line(`  fingerprint     ${key.fingerprint}`);
  out.line("                  (SHA-256 of the public key, SPKI DER: compare with the key IBKR registered)");
  for (const w of warnings) out.line(`${out.paint(33, "!")} ${w}`);
  const status = resolved.auth.status();
  out.done(
    `config ok: ${settings.values.clientId} as key ${settings.values.clientKeyId} at ${status.origin}${warnings.length ? ` (${warnings.length} warning${warnings.length > 1 ? "s" : ""})` : ""}`,
    {
      command: "check",
      config: path,
      origin: status.origin,
      key,
      warnings,
    },
  );
}

/** Each finding's label, and the oauth1: key to fix when it fails. */
const OAUTH1_PARTS: Record<OAuth1Finding["field"], { label: string; fix: string }> = {
  realm: { label: "realm", fix: OAUTH1_YAML_KEYS.realm },
  consumerKey: { label: "consumer key", fix: OAUTH1_YAML_KEYS.consumerKey },
  accessToken: { label: "access token", fix: OAUTH1_YAML_KEYS.accessToken },
  signatureKey: { label: "signature key", fix: OAUTH1_YAML_KEYS.signatureKeyFile },
  encryptionKey: { label: "encryption key", fix: OAUTH1_YAML_KEYS.encryptionKeyFile },
  accessTokenSecret: { label: "token secret", fix: OAUTH1_YAML_KEYS.accessTokenSecret },
  dhPrime: {
    label: "DH prime",
    fix: `${OAUTH1_YAML_KEYS.dhPrime} or oauth1.${OAUTH1_YAML_KEYS.dhParamFile}`,
  },
  dhGenerator: { label: "DH generator", fix: OAUTH1_YAML_KEYS.dhGenerator },
};

/**
 * OAuth 1.0a: the core's offline checks (the secret decrypted, the keys imported, the DH prime proven a
 * safe 2048-bit prime), one line each; any failure is exit 2 naming the parts and the keys to fix.
 */
async function checkOAuth1Config(
  ctx: CliContext,
  settings: Settings,
  creds: OAuth1Credentials,
): Promise<void> {
  const out = ctx.output;
  const path = settings.source;
  const findings = await checkOAuth1(creds);
  // The details name no value by contract; the consumer key and tokens are masked all the same.
  const mask = (text: string) =>
    [creds.consumerKey, creds.accessToken, creds.accessTokenSecret].reduce(
      (t, secret) => (secret ? t.split(secret).join("<hidden>") : t),
      text,
    );
  for (const f of findings) out.result(OAUTH1_PARTS[f.field].label, f.ok, mask(f.detail));
  const failed = findings.filter((f) => !f.ok);
  const [first] = failed;
  if (first) {
    const parts = failed.map((f) => `${OAUTH1_PARTS[f.field].label} (oauth1.${OAUTH1_PARTS[f.field].fix})`);
    throw new IbauthError(`${path}: OAuth 1.0a check failed: ${parts.join(", ")}`, {
      code: "ERR_CONFIG",
      step: "config",
      field: `oauth1.${OAUTH1_PARTS[first.field].fix}`,
      hint: "fix these before logging in: IBKR answers a wrong key, secret or prime with a bare 401 at the live session token",
    });
  }
  const resolved = await out.step(
    "endpoints",
    async () => resolveAuth(settings, { logger: silentLogger }),
    (r) => r.auth.status().origin,
  );
  for (const w of settings.warnings) out.line(`${out.paint(33, "!")} ${w}`);
  const origin = resolved.auth.status().origin;
  out.done(
    `config ok: OAuth 1.0a at ${origin}${settings.warnings.length ? ` (${settings.warnings.length} warning${settings.warnings.length > 1 ? "s" : ""})` : ""}`,
    {
      command: "check",
      mode: "oauth1",
      config: path,
      origin,
      findings: findings.map((f) => ({ ...f, detail: mask(f.detail) })),
      warnings: settings.warnings,
    },
  );
}
