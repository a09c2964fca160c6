import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, resolve } from "node:path";
import {
  YAML_KEYS as CORE_YAML_KEYS,
  ENV_NAMES,
  IbauthError,
  type OAuth1Credentials,
  oauth1FromConfig,
  oauth1FromEnv,
  unknownKeyWarning,
} from "@ibauth/core";
import { isMap, isScalar, LineCounter, parseDocument } from "yaml";

/**
 * Connection settings read from one source (a YAML file or the environment), before the key is
 * loaded. `names` maps each option to the key the user wrote, so messages speak the user's words.
 */
export interface Settings {
  /** "config.yaml" path or "environment": the prefix of every message about these settings. */
  source: string;
  values: Partial<Record<SettingName, string>>;
  alternativeIps?: string[];
  names: Record<SettingName | "alternativeIps", string>;
  /** "line:col" of each YAML key, for messages that point at a line. */
  positions: Partial<Record<string, string>>;
  /** Things worth a warning that do not stop a login (keys ignored, a key file found elsewhere). */
  warnings: string[];
  /** OAuth 1.0a credentials (an `oauth1:` mapping, or IBKR_OAUTH1_* / IBIND_OAUTH1A_* variables): key files already read. */
  oauth1?: OAuth1Credentials;
}

/** Reads a file an OAuth 1.0a setting names, relative to `base`. */
const fileReader = (base: string) => ({
  readFile: (path: string) => readFileSync(expandPath(path, base), "utf8"),
});

/** One name per option, shared with every ibauth adapter through the core. */
export type SettingName = Exclude<keyof typeof ENV_NAMES, "alternativeIps"> | "sessionFile";

/** The core's names (the Python ibauth keys first), plus the session file this package adds. */
const YAML_KEYS: Record<SettingName | "alternativeIps", string> = {
  ...CORE_YAML_KEYS,
  sessionFile: "session_file",
};

const PATH_SETTINGS: SettingName[] = ["privateKeyFile", "sessionFile"];

function configError(message: string, field?: string): IbauthError {
  return new IbauthError(message, { code: "ERR_CONFIG", step: "config", ...(field ? { field } : {}) });
}

function expandPath(path: string, base: string): string {
  const home = path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
  return isAbsolute(home) ? home : resolve(base, home);
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Reads a YAML config file. Errors name the file and, for YAML problems, the line and column. */
export async function readYamlSettings(path: string): Promise<Settings> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "not found"
        : code === "EACCES"
          ? "permission denied"
          : code === "EISDIR"
            ? "is a directory"
            : (code ?? "unreadable");
    throw configError(`${path}: cannot read the config file (${reason})`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => {
    const pos = lines.linePos(offset ?? 0);
    return `${pos.line}:${pos.col}`;
  };
  const first = doc.errors[0];
  if (first) {
    // Only yaml's first line: the rest is a code frame that could quote a secret.
    const reason = first.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    throw configError(`${path}:${at(first.pos[0])}: malformed YAML: ${reason}`);
  }
  const settings: Settings = {
    source: path,
    values: {},
    names: YAML_KEYS,
    positions: {},
    warnings: [],
  };
  if (doc.contents === null) return settings;
  if (!isMap(doc.contents))
    throw configError(`${path}:${at(doc.contents.range?.[0])}: expected key: value pairs at the top level`);
  const byKey = new Map(Object.entries(YAML_KEYS).map(([option, key]) => [key, option]));
  const base = dirname(resolve(path));
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    const where = `${path}:${at(isScalar(pair.key) ? pair.key.range?.[0] : undefined)}`;
    if (key === "oauth1") {
      const node = pair.value;
      const data = node && typeof node === "object" && "toJSON" in node ? node.toJSON() : node;
      settings.oauth1 = oauth1FromConfig(data, where, fileReader(base));
      continue;
    }
    const option = byKey.get(key);
    if (!option) {
      settings.warnings.push(unknownKeyWarning(key, byKey.keys(), where));
      continue;
    }
    settings.positions[option] = where;
    const node = pair.value;
    const value = isScalar(node) ? node.value : node && "toJSON" in node ? node.toJSON() : node;
    if (value === null || value === undefined || value === "") continue; // counts as missing
    if (option === "alternativeIps") {
      const list = typeof value === "string" ? splitList(value) : value;
      if (!Array.isArray(list) || !list.every((ip) => typeof ip === "string")) {
        throw configError(`${where}: ${key} must be a list of IP addresses`, key);
      }
      settings.alternativeIps = list;
      continue;
    }
    // Client ids and key ids may look numeric in YAML; they are still names.
    const scalar =
      typeof value === "number" && (option === "clientId" || option === "clientKeyId")
        ? String(value)
        : value;
    if (typeof scalar !== "string") throw configError(`${where}: ${key} must be a text value`, key);
    settings.values[option as SettingName] = PATH_SETTINGS.includes(option as SettingName)
      ? expandPath(scalar, base)
      : scalar;
    if (option === "privateKeyFile") {
      // The Python ibauth reads a relative key path from the working directory; ours from the
      // config's folder. A config written for Python still works, with a warning.
      const fromCwd = expandPath(scalar, process.cwd());
      if (!existsSync(settings.values.privateKeyFile!) && existsSync(fromCwd)) {
        settings.warnings.push(
          `${where}: ${key} ${scalar} is not in the config's folder; using ${fromCwd} from the working directory (write the path relative to the config file, or absolute)`,
        );
        settings.values.privateKeyFile = fromCwd;
      }
    }
  }
  return settings;
}

/** Reads the IBKR_* environment variables (the core's ENV_NAMES). Relative file paths resolve against the working directory. */
export function readEnvSettings(env: Record<string, string | undefined>): Settings {
  const settings: Settings = {
    source: "environment",
    values: {},
    names: { ...ENV_NAMES, sessionFile: "session file" },
    positions: {},
    warnings: [],
  };
  const oauth1 = oauth1FromEnv(env, fileReader(process.cwd()));
  if (oauth1) settings.oauth1 = oauth1;
  for (const [option, name] of Object.entries(ENV_NAMES)) {
    const value = env[name]?.trim();
    if (!value) continue;
    if (option === "alternativeIps") settings.alternativeIps = splitList(value);
    else
      settings.values[option as SettingName] =
        option === "privateKeyFile" ? expandPath(value, process.cwd()) : value;
  }
  return settings;
}
