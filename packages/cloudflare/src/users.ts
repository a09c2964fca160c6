import { ENV_NAMES, OAUTH1_ENV_NAMES } from "@ibauth/core";
import { presentedKey } from "./api-key";
import type { ConfigProblem, IbauthWorkerEnv } from "./config";
import { timingSafeEqualText } from "./crypto";
import type { DurableNamespaceLike } from "./durable-types";

/** The Durable Object mode's bindings: the KV mode's settings, per user where suffixed, and the namespace. */
export interface IbauthDurableEnv extends Omit<IbauthWorkerEnv, "IBAUTH_SESSIONS"> {
  /** The Durable Object namespace of `IbauthSession` (one object per user). */
  IBAUTH_SESSION?: DurableNamespaceLike;
  /** Comma-separated user labels (`alice,bob`); unset: one user, configured exactly as the KV mode. */
  IBAUTH_USERS?: string;
  /** Opens GET /health's index of every user and /users/<label>/… to the operator. */
  IBAUTH_OPERATOR_KEY?: string;
  /** Per-user settings: `IBKR_CREDENTIAL_ALICE`, `IBAUTH_API_KEY_ALICE`, `IBKR_OAUTH1_ACCESS_TOKEN_BOB`, … */
  [setting: string]: unknown;
}

/** The label of the only user when IBAUTH_USERS is unset; its settings have no suffix. */
export const SINGLE_USER = "default";
/** Labels name objects and env suffixes; they are not secret and never the IBKR username itself. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
/** OAuth 2.0's per-user settings; a user with its own IBKR_OAUTH1_ACCESS_TOKEN_<LABEL> inherits none of them. */
const OAUTH2_SETTINGS = [
  "IBKR_CLIENT_ID",
  "IBKR_CLIENT_KEY_ID",
  "IBKR_CREDENTIAL",
  "IBKR_PRIVATE_KEY",
  "IBKR_IP",
  "IBKR_ALTERNATIVE_IPS",
];
/** OAuth 1.0a's (our names; a Worker has no files); a user with its own IBKR_CREDENTIAL_<LABEL> inherits none. */
const OAUTH1_SETTINGS = [
  "IBKR_OAUTH1_CONSUMER_KEY",
  "IBKR_OAUTH1_ACCESS_TOKEN",
  "IBKR_OAUTH1_ACCESS_TOKEN_SECRET",
  "IBKR_OAUTH1_SIGNATURE_KEY",
  "IBKR_OAUTH1_ENCRYPTION_KEY",
  "IBKR_OAUTH1_DH_PRIME",
  "IBKR_OAUTH1_DH_GENERATOR",
  "IBKR_OAUTH1_REALM",
];
/** Settings a user may set for itself with a `_<LABEL>` suffix; unsuffixed, they are shared by every user. */
const PER_USER = [
  ...OAUTH2_SETTINGS,
  ...OAUTH1_SETTINGS,
  "IBKR_DOMAIN",
  "IBKR_BASE_URL",
  "IBAUTH_API_KEY",
] as const;
/**
 * Never shared: two users with one username (OAuth 1.0a: one access token) would be two objects
 * fighting over one IBKR session.
 */
const OWN_ONLY = new Set<string>([
  "IBKR_CREDENTIAL",
  "IBKR_OAUTH1_ACCESS_TOKEN",
  "IBKR_OAUTH1_ACCESS_TOKEN_SECRET",
  "IBAUTH_API_KEY",
]);
/** Every setting of each mode, also the unsuffixed-only ones (ibind's names, the IP lookup). */
const MODE_SETTINGS = {
  oauth2: new Set([...OAUTH2_SETTINGS, ENV_NAMES.ipLookupUrl, ENV_NAMES.privateKeyFile]),
  oauth1: new Set(Object.values(OAUTH1_ENV_NAMES).flat()),
};
const MIN_KEY_LENGTH = 24;

export const suffixOf = (label: string) => label.toUpperCase().replaceAll("-", "_");

/** Whether IBAUTH_USERS is set (many users) or not (one user, the KV mode's settings). */
export const isMultiUser = (env: IbauthDurableEnv) =>
  typeof env.IBAUTH_USERS === "string" && env.IBAUTH_USERS.trim() !== "";

export function userLabels(env: IbauthDurableEnv): { labels: string[]; problems: ConfigProblem[] } {
  if (!isMultiUser(env)) return { labels: [SINGLE_USER], problems: [] };
  const labels = String(env.IBAUTH_USERS)
    .split(",")
    .map((label) => label.trim())
    .filter(Boolean);
  const problems: ConfigProblem[] = [];
  const bad = labels.filter((label) => !LABEL.test(label) || label === SINGLE_USER);
  if (bad.length)
    problems.push({
      setting: "IBAUTH_USERS",
      problem: `labels must be 1-32 of a-z, 0-9 and '-', and not "${SINGLE_USER}": ${bad.join(", ")}`,
    });
  if (new Set(labels.map(suffixOf)).size !== labels.length)
    problems.push({ setting: "IBAUTH_USERS", problem: "a label is listed twice" });
  return { labels: labels.filter((label) => !bad.includes(label)), problems };
}

const text = (value: unknown) => (typeof value === "string" && value.trim() !== "" ? value : undefined);

/**
 * One user's settings as the KV mode names them, so the same checks serve both modes; `rename` turns a
 * problem's setting back into what the operator sets (`IBKR_CREDENTIAL_ALICE`). A user's own
 * IBKR_CREDENTIAL_<LABEL> (OAuth 2.0) or IBKR_OAUTH1_ACCESS_TOKEN_<LABEL> (OAuth 1.0a) picks its mode, and
 * the other mode's shared settings are not passed on to it, so both modes can serve users side by side.
 */
export function userEnv(
  env: IbauthDurableEnv,
  label: string,
): { env: IbauthWorkerEnv; rename: (problem: ConfigProblem) => ConfigProblem } {
  if (label === SINGLE_USER) return { env: env as IbauthWorkerEnv, rename: (problem) => problem };
  const suffix = suffixOf(label);
  const view: Record<string, unknown> = { ...env };
  const ownOAuth2 = text(env[`IBKR_CREDENTIAL_${suffix}`]) !== undefined;
  const ownOAuth1 = text(env[`IBKR_OAUTH1_ACCESS_TOKEN_${suffix}`]) !== undefined;
  const other = ownOAuth1 === ownOAuth2 ? undefined : ownOAuth1 ? MODE_SETTINGS.oauth2 : MODE_SETTINGS.oauth1;
  for (const name of other ?? []) view[name] = undefined;
  const names = new Map<string, string>();
  for (const name of PER_USER) {
    const own = text(env[`${name}_${suffix}`]);
    const inherits = !OWN_ONLY.has(name) && !other?.has(name);
    view[name] = own ?? (inherits ? env[name] : undefined);
    const shared = inherits && own === undefined;
    names.set(name, shared ? `${name}_${suffix} or ${name}` : `${name}_${suffix}`);
  }
  return {
    env: view as IbauthWorkerEnv,
    rename: (problem) => ({ ...problem, setting: names.get(problem.setting) ?? problem.setting }),
  };
}

export type Caller = { kind: "user"; label: string } | { kind: "operator" };

export interface UserDirectory {
  labels: string[];
  /** Problems of the whole Worker: it answers 503 until they are fixed. */
  problems: ConfigProblem[];
  /** Problems the Worker sees in one user's settings (the object checks the rest). */
  userProblems: Map<string, ConfigProblem[]>;
  /** Who presents `Authorization: Bearer <key>`: a user, the operator, or nobody. */
  identify(request: Request): Promise<Caller | undefined>;
}

/**
 * The Worker's side of the mapping: labels, their API keys and the operator key, checked once per env.
 * Every key is compared (in constant time) on every request, so timing does not tell which one matched.
 */
export function userDirectory(env: IbauthDurableEnv): UserDirectory {
  const { labels, problems } = userLabels(env);
  const keys: { caller: Caller; key: string }[] = [];
  const userProblems = new Map<string, ConfigProblem[]>();
  for (const label of labels) {
    const { env: view, rename } = userEnv(env, label);
    const key = text(view.IBAUTH_API_KEY);
    const problem =
      key === undefined
        ? "missing"
        : key.trim().length < MIN_KEY_LENGTH
          ? `too short: use at least ${MIN_KEY_LENGTH} characters`
          : undefined;
    // One user's missing key makes that user unreachable, not the others.
    if (problem) userProblems.set(label, [rename({ setting: "IBAUTH_API_KEY", problem })]);
    else keys.push({ caller: { kind: "user", label }, key: (key as string).trim() });
  }
  const operator = text(env.IBAUTH_OPERATOR_KEY)?.trim();
  if (operator !== undefined) {
    if (operator.length < MIN_KEY_LENGTH)
      problems.push({
        setting: "IBAUTH_OPERATOR_KEY",
        problem: `too short: use at least ${MIN_KEY_LENGTH} characters`,
      });
    else keys.push({ caller: { kind: "operator" }, key: operator });
  }
  if (new Set(keys.map((k) => k.key)).size !== keys.length)
    problems.push({
      setting: "IBAUTH_API_KEY_*",
      problem: "two users (or a user and the operator) share a key",
    });
  if (isMultiUser(env)) {
    const usernames = labels.map((label) => {
      const view = userEnv(env, label).env;
      const token = text(view.IBKR_OAUTH1_ACCESS_TOKEN);
      if (token !== undefined) return `oauth1|${text(view.IBKR_OAUTH1_CONSUMER_KEY) ?? ""}|${token}`;
      return `${text(view.IBKR_CLIENT_ID) ?? ""}|${text(view.IBKR_CREDENTIAL)?.toLowerCase() ?? label}`;
    });
    const repeated = usernames.filter((name, i) => usernames.indexOf(name) !== i);
    for (const mode of new Set(repeated.map((name) => name.startsWith("oauth1|"))))
      problems.push({
        setting: mode ? "IBKR_OAUTH1_ACCESS_TOKEN_*" : "IBKR_CREDENTIAL_*",
        problem: "two labels name the same IBKR username: one object per username, or they compete",
      });
  }
  return {
    labels,
    problems,
    userProblems,
    async identify(request) {
      const presented = presentedKey(request) ?? "";
      let found: Caller | undefined;
      for (const { caller, key } of keys) {
        if ((await timingSafeEqualText(presented, key)) && presented !== "") found ??= caller;
      }
      return found;
    },
  };
}
