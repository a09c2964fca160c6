import { createExecutionContext, createScheduledController, env } from "cloudflare:test";
import {
  type CreateWorkerOptions,
  createWorker,
  type IbauthWorkerEnv,
  type KvNamespaceLike,
} from "@ibauth/cloudflare";
import { consoleLogger } from "@ibauth/core";
import {
  type ClientKeyPair,
  createEmulator,
  type EmulatorOptions,
  generateClientKeys,
  generateOauth1Credentials,
  type Oauth1Credentials,
} from "@ibauth/emulator";

/** Canary secrets: none of these may ever show up in a log line, /health, an error or a KV key/value. */
export const CANARY = {
  clientId: "canary-client-9d2e41",
  credential: "canaryuser7f3a",
  apiKey: "canary-api-key-5b8c0e1d2f3a4b5c6d7e",
};

let keys: Promise<ClientKeyPair> | undefined;
/** One RSA key pair per test file: generating 2048-bit keys is the slow part. */
export const clientKeys = () => {
  keys ??= generateClientKeys({ bits: 2048 });
  return keys;
};

let oauth1Once: Promise<Oauth1Credentials> | undefined;
/** One set of OAuth 1.0a credentials per test file (two RSA pairs); the access token is random, a canary. */
export const oauth1Credentials = () => {
  oauth1Once ??= generateOauth1Credentials({ consumerKey: "CANARYC1A", credential: "canaryssp1a" });
  return oauth1Once;
};

/** The Worker's settings for OAuth 1.0a: IBKR_OAUTH1_* (keys and prime as text), no OAuth 2.0 setting. */
export function oauth1Env(client: Oauth1Credentials["client"]): Partial<IbauthWorkerEnv> {
  return {
    IBKR_CLIENT_ID: undefined,
    IBKR_CLIENT_KEY_ID: undefined,
    IBKR_CREDENTIAL: undefined,
    IBKR_PRIVATE_KEY: undefined,
    IBKR_IP_LOOKUP_URL: undefined,
    IBKR_OAUTH1_CONSUMER_KEY: client.consumerKey,
    IBKR_OAUTH1_ACCESS_TOKEN: client.accessToken,
    IBKR_OAUTH1_ACCESS_TOKEN_SECRET: client.accessTokenSecret,
    IBKR_OAUTH1_SIGNATURE_KEY: client.signatureKey,
    IBKR_OAUTH1_ENCRYPTION_KEY: client.encryptionKey,
    IBKR_OAUTH1_DH_PRIME: client.dhPrime,
  };
}

export function randomSessionKey(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
}

/** The miniflare KV namespace, with every put and delete counted (reads and writes still go to real KV). */
export function countingKv(inner: KvNamespaceLike) {
  const puts: { key: string; value: string }[] = [];
  const deletes: string[] = [];
  const kv: KvNamespaceLike = {
    get: (key, type) => inner.get(key, type),
    put: async (key, value, options) => {
      puts.push({ key, value });
      await inner.put(key, value, options);
    },
    delete: async (key) => {
      deletes.push(key);
      await inner.delete(key);
    },
  };
  return { kv, puts, deletes };
}

/** The parts of GET /health the tests read. */
export interface HealthBody {
  ok: boolean;
  state: string;
  reasons: string[];
  config: { ok: boolean; problems: { setting: string; problem: string }[] };
  session: { present: boolean; ip?: string };
  lastError: { code: string; step: string; status?: number; hint?: string } | null;
  ipMismatch: { seenBy: string; claimedIp?: string; hint: string } | null;
}

export interface Harness {
  emu: ReturnType<typeof createEmulator>;
  env: IbauthWorkerEnv;
  kv: ReturnType<typeof countingKv>;
  logs: string[];
  privateKeyPem: string;
  worker: ReturnType<typeof createWorker>;
  /** A second Worker (another isolate): same env and KV, nothing else shared. */
  another(options?: CreateWorkerOptions): ReturnType<typeof createWorker>;
  tick(worker?: ReturnType<typeof createWorker>): Promise<void>;
  call(path: string, init?: RequestInit, worker?: ReturnType<typeof createWorker>): Promise<Response>;
  /** A call with the API key. */
  api(path: string, init?: RequestInit, worker?: ReturnType<typeof createWorker>): Promise<Response>;
  health(): Promise<{ status: number; body: HealthBody }>;
}

export async function harness(
  options: {
    env?: Partial<IbauthWorkerEnv>;
    emulator?: Partial<EmulatorOptions>;
    worker?: CreateWorkerOptions;
  } = {},
): Promise<Harness> {
  const pair = await clientKeys();
  const emu = createEmulator({
    clients: [
      { clientId: CANARY.clientId, keys: { main: pair.publicKeyPem }, credentials: [CANARY.credential] },
    ],
    egressIp: "203.0.113.10",
    now: () => Date.UTC(2026, 0, 6, 12, 0, 0),
    dailyReset: false,
    ...options.emulator,
  });
  const kv = countingKv(env.IBAUTH_SESSIONS as KvNamespaceLike);
  const workerEnv: IbauthWorkerEnv = {
    IBKR_CLIENT_ID: CANARY.clientId,
    IBKR_CLIENT_KEY_ID: "main",
    IBKR_CREDENTIAL: CANARY.credential,
    IBKR_PRIVATE_KEY: pair.privateKeyPem,
    IBKR_BASE_URL: "http://127.0.0.1:1",
    IBKR_IP_LOOKUP_URL: "http://127.0.0.1:1/__emulator/ip",
    IBAUTH_API_KEY: CANARY.apiKey,
    // A fresh key per harness: the KV names derive from it, so tests never see each other's records.
    IBAUTH_SESSION_KEY: randomSessionKey(),
    IBAUTH_SESSIONS: kv.kv,
    ...options.env,
  };
  const logs: string[] = [];
  const make = (extra: CreateWorkerOptions = {}) =>
    createWorker({
      fetch: emu.fetch,
      now: () => emu.now(),
      logger: consoleLogger({
        level: "debug",
        json: true,
        write: (line) => logs.push(line),
        now: () => emu.now(),
      }),
      leaseSettleMs: 20,
      auth: { sleep: async () => {} },
      ...options.worker,
      ...extra,
    });
  const worker = make();
  const call = (path: string, init?: RequestInit, w = worker) =>
    w.fetch(new Request(`https://ibauth-worker.example${path}`, init), workerEnv, createExecutionContext());
  return {
    emu,
    env: workerEnv,
    kv,
    logs,
    privateKeyPem: pair.privateKeyPem,
    worker,
    another: make,
    tick: (w = worker) =>
      w.scheduled(
        createScheduledController({ scheduledTime: emu.now(), cron: "* * * * *" }),
        workerEnv,
        createExecutionContext(),
      ),
    call,
    api: (path, init = {}, w = worker) => {
      const headers = new Headers(init.headers);
      if (!headers.has("authorization")) headers.set("authorization", `Bearer ${CANARY.apiKey}`);
      return call(path, { ...init, headers }, w);
    },
    async health() {
      const res = await call("/health");
      return { status: res.status, body: (await res.json()) as HealthBody };
    },
  };
}

/** Every place a secret could leak to, as one string. */
export function leakSurface(h: Harness, extra: string[] = []): string {
  return [...h.logs, ...h.kv.puts.map((p) => `${p.key} ${p.value}`), ...h.kv.deletes, ...extra].join("\n");
}
