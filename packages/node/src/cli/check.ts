import { silentLogger } from "@ibauth/core";
import { assertComplete, loadSettingsKey, resolveAuth } from "../auth-from";
import { readYamlSettings } from "../settings";
import type { CliContext } from "./context";

/** `ibauth check`: the config and the key, offline. Problems throw (exit 2); doubts are warnings. */
export async function checkCommand(ctx: CliContext): Promise<void> {
  const out = ctx.output;
  const path = ctx.options.config;
  const settings = await out.step(
    "config",
    async () => {
      const read = await readYamlSettings(path);
      assertComplete(read);
      return read;
    },
    () => path,
  );
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
