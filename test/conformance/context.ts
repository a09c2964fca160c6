// A fresh world per case: an emulator reached through the runner's transport, the cached key pair,
// a wire recorder, a debug-level recording logger and a virtual clock shared by SDK and emulator.

import { IBAuth, type IBAuthOAuth1Options, type IBAuthOptions } from "@ibauth/core";
import type { Oauth1Credentials } from "@ibauth/emulator";
import { exposeText, findLeaks, pemCanaries, type RecordingLogger, recordingLogger } from "../support/canary";
import type { EmulatorHandle, EmulatorSetup, OpenEmulator, Transport } from "../support/emulator-handle";
import { type ClientKeys, cachedKeys, cachedOauth1 } from "../support/keys";
import { recordWire, type Wire, wireSecrets } from "../support/wire";

export const CLIENT_ID = "conformance-client";
export const KEY_ID = "main";
/** The IBKR username is a secret too: a distinctive value, so any leak of it is findable. */
export const CREDENTIAL = "canaryUserQ7zX3k";
export const EGRESS_IP = "203.0.113.10";

/** Requests the emulator served, by step. */
export interface Calls {
  token: number;
  ip: number;
  bearer: number;
  init: number;
  validate: number;
  tickle: number;
  logout: number;
  /** OAuth 1.0a: POST /v1/api/oauth/live_session_token. */
  lst: number;
  /** Every request served, these steps and any other path. */
  total: number;
}

const STEP_PATHS: [keyof Omit<Calls, "total">, string][] = [
  ["token", "/oauth2/api/v1/token"],
  ["ip", "/__emulator/ip"],
  ["bearer", "/gw/api/v1/sso-sessions"],
  ["init", "/v1/api/iserver/auth/ssodh/init"],
  ["validate", "/v1/api/sso/validate"],
  ["tickle", "/v1/api/tickle"],
  ["logout", "/v1/api/logout"],
  ["lst", "/v1/api/oauth/live_session_token"],
];

export interface Ctx {
  transport: Transport;
  emu: EmulatorHandle;
  wire: Wire;
  keys: ClientKeys;
  logger: RecordingLogger;
  baseUrl: string;
  ipLookupUrl: string;
  /** Options for a new IBAuth against this emulator; overrides win. */
  options(overrides?: Partial<IBAuthOptions>): IBAuthOptions;
  /** A new IBAuth; its status() is scanned for leaks when the case ends. */
  auth(overrides?: Partial<IBAuthOptions>): IBAuth;
  /** A new IBAuth in OAuth 1.0a mode (cases with `oauth1: true`); scanned for leaks the same way. */
  oauth1Auth(
    overrides?: Partial<IBAuthOAuth1Options>,
    credentials?: Partial<Oauth1Credentials["client"]>,
  ): IBAuth;
  /** Moves the SDK's and the emulator's clocks together. */
  advance(ms: number): Promise<void>;
  now(): number;
  calls(): Promise<Calls>;
  /** Extra text the case exposed (errors it caught, store keys) to scan for leaks at the end. */
  expose(where: string, value: unknown): void;
  /** Extra secrets (e.g. a second credential) that must not surface either. */
  secret(name: string, value: string): void;
}

export interface Case {
  name: string;
  /** Emulator settings this case needs beyond the defaults. */
  emulator?: Pick<EmulatorSetup, "latencyMs">;
  /** Registers an OAuth 1.0a consumer with the emulator, for ctx.oauth1Auth(). */
  oauth1?: boolean;
  run(ctx: Ctx): Promise<void>;
}

export async function runCase(c: Case, transport: Transport): Promise<void> {
  const keys = await cachedKeys();
  const oauth1 = c.oauth1 ? await cachedOauth1() : undefined;
  const opened = await transport.open({
    clients: [{ clientId: CLIENT_ID, keys: { [KEY_ID]: keys.publicKeyPem }, credentials: [CREDENTIAL] }],
    egressIp: EGRESS_IP,
    ...(oauth1 ? { oauth1Consumers: [oauth1.consumer] } : {}),
    ...c.emulator,
  });
  try {
    const ctx = buildContext(transport, opened, keys, oauth1);
    await c.run(ctx.ctx);
    ctx.assertNoLeaks();
    // what IBKR may not refuse but no IBKR sample sends (e.g. Content-Type on a bodyless POST)
    const violations = await opened.emu.violations();
    if (violations.length) throw new Error(`protocol violations: ${violations.join("; ")}`);
  } finally {
    await opened.close();
  }
}

function buildContext(
  transport: Transport,
  opened: OpenEmulator,
  keys: ClientKeys,
  oauth1: Oauth1Credentials | undefined,
) {
  const wire = recordWire(opened.fetch);
  const logger = recordingLogger();
  const made: IBAuth[] = [];
  const exposed = new Map<string, string>();
  const extraSecrets = new Map<string, string>();
  let offset = 0;

  const advance = async (ms: number) => {
    offset += ms;
    await opened.emu.advance(ms);
  };
  const now = () => Date.now() + offset;

  const shared = {
    baseUrl: opened.baseUrl,
    fetch: wire.fetch,
    logger,
    now,
    // Backoff waits move the virtual clock instead of real time, so pacing is honoured without slowing the run.
    sleep: advance,
    userAgent: "ibauth-conformance/1",
  };
  const options = (overrides: Partial<IBAuthOptions> = {}): IBAuthOptions => ({
    clientId: CLIENT_ID,
    clientKeyId: KEY_ID,
    credential: CREDENTIAL,
    privateKey: keys.privateKeyPem,
    ipLookupUrl: `${opened.baseUrl}/__emulator/ip`,
    ...shared,
    ...overrides,
  });

  const ctx: Ctx = {
    transport,
    emu: opened.emu,
    wire,
    keys,
    logger,
    baseUrl: opened.baseUrl,
    ipLookupUrl: `${opened.baseUrl}/__emulator/ip`,
    options,
    auth(overrides) {
      const auth = new IBAuth(options(overrides));
      made.push(auth);
      return auth;
    },
    oauth1Auth(overrides = {}, credentials = {}) {
      if (!oauth1) throw new Error("this case needs `oauth1: true`");
      const auth = new IBAuth({ oauth1: { ...oauth1.client, ...credentials }, ...shared, ...overrides });
      made.push(auth);
      return auth;
    },
    advance,
    now,
    async calls() {
      const counts = await opened.emu.counts();
      const sum = (keep: (path: string) => boolean) =>
        Object.entries(counts)
          .filter(([key]) => keep(key.slice(key.indexOf(" ") + 1)))
          .reduce((total, [, n]) => total + n, 0);
      const calls = { total: sum(() => true) } as Calls;
      for (const [step, path] of STEP_PATHS) calls[step] = sum((p) => p === path);
      return calls;
    },
    expose(where, value) {
      exposed.set(`${where}#${exposed.size}`, exposeText(value));
    },
    secret(name, value) {
      extraSecrets.set(name, value);
    },
  };

  const assertNoLeaks = () => {
    const secrets = new Map<string, string>([["credential", CREDENTIAL], ...extraSecrets]);
    for (const [i, s] of pemCanaries(keys.privateKeyPem).entries()) secrets.set(`private key part ${i}`, s);
    if (oauth1) {
      const { client, consumer } = oauth1;
      secrets.set("oauth1 access token", client.accessToken);
      secrets.set("oauth1 access-token secret (encrypted)", client.accessTokenSecret);
      secrets.set("oauth1 access-token secret (decrypted)", consumer.accessTokenSecret);
      const plain = atob(consumer.accessTokenSecret);
      secrets.set(
        "oauth1 access-token secret (hex)",
        Array.from(plain, (ch) => ch.charCodeAt(0).toString(16).padStart(2, "0")).join(""),
      );
      for (const [name, pem] of [
        ["signature", client.signatureKey],
        ["encryption", client.encryptionKey],
      ] as const)
        for (const [i, s] of pemCanaries(pem).entries()) secrets.set(`oauth1 ${name} key part ${i}`, s);
    }
    for (const [i, s] of wireSecrets(wire).entries()) secrets.set(`wire secret ${i}`, s);
    const texts = new Map(exposed);
    for (const [i, line] of logger.lines.entries()) {
      texts.set(`log line ${i} (${line.level} ${line.msg ?? ""})`, exposeText(line));
    }
    made.forEach((auth, i) => {
      try {
        texts.set(`status() of auth ${i}`, exposeText(auth.status()));
      } catch (error) {
        texts.set(`status() error of auth ${i}`, exposeText(error));
      }
    });
    const leaks = findLeaks(secrets, texts);
    if (leaks.length > 0) throw new Error(`secret leaked: ${leaks.slice(0, 5).join("; ")}`);
  };

  return { ctx, assertNoLeaks };
}
