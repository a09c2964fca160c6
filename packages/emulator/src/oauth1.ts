// OAuth 1.0a as IBKR serves first-party consumers (protocol notes §7): the live session token by
// Diffie-Hellman under an RSA-SHA256 signature, then every /v1/api request signed HMAC-SHA256 with it.
// Verification is strict (realm, token, method, timestamp window, single-use nonces, the signature over
// either base string IBKR accepts); each LST opens an SSO session like an OAuth 2.0 bearer does.
import type { Call, Env } from "./context.js";
import {
  candidateBaseStrings,
  fromBase64,
  fromHex,
  hmac,
  parseOAuthHeader,
  sameText,
  serverLiveSessionToken,
  toBase64,
} from "./oauth1-wire.js";
import { apiError, json } from "./responses.js";
import type { SsoSession } from "./state.js";
import type { EmulatorOauth1Consumer } from "./types.js";
import { Rejection } from "./verify.js";

export const LST_PATH = "/v1/api/oauth/live_session_token";

interface Consumer {
  options: EmulatorOauth1Consumer;
  realm: string;
  prime: bigint;
  generator: bigint;
  /** The decrypted access-token secret: IBKR's "prepend" is its hex. */
  secret: Uint8Array;
}

interface LstRecord {
  lst: Uint8Array;
  bearer: string;
  expiresAt: number;
}

function consumerOf(c: EmulatorOauth1Consumer): Consumer {
  const what = `oauth1 consumer ${JSON.stringify(c?.consumerKey)}`;
  if (!c?.consumerKey || !c.accessToken || !c.credential)
    throw new TypeError(`${what} needs consumerKey, accessToken and credential`);
  if (!c.signaturePublicKey?.includes("PUBLIC KEY") || !c.encryptionPublicKey?.includes("PUBLIC KEY"))
    throw new TypeError(`${what} needs signaturePublicKey and encryptionPublicKey (SPKI PEM)`);
  if (!/^(0x)?[0-9a-f]+$/i.test(c.dhPrime ?? "")) throw new TypeError(`${what} needs dhPrime as hex`);
  let secret: Uint8Array;
  try {
    secret = fromBase64(c.accessTokenSecret);
  } catch {
    throw new TypeError(`${what} needs accessTokenSecret as base64 (the plaintext secret IBKR holds)`);
  }
  return {
    options: c,
    realm: c.realm ?? (c.consumerKey === "TESTCONS" ? "test_realm" : "limited_poa"),
    prime: BigInt(`0x${c.dhPrime.replace(/^0x/i, "")}`),
    generator: BigInt(c.dhGenerator ?? 2),
    secret,
  };
}

/** The registered consumers, their live session tokens and the nonces seen in the timestamp window. */
export class Oauth1Registry {
  readonly consumers = new Map<string, Consumer>();
  #lsts = new Map<string, LstRecord[]>();
  #nonces = new Map<string, number>();
  #prunedAt = 0;

  constructor(list: EmulatorOauth1Consumer[]) {
    for (const c of list) this.consumers.set(c.consumerKey, consumerOf(c));
  }

  credentials(): string[] {
    return [...this.consumers.values()].map((c) => c.options.credential);
  }

  /** The `expire-lst` fault: every LST issued so far expires now. */
  expireAll(now: number): void {
    for (const list of this.#lsts.values()) for (const r of list) r.expiresAt = Math.min(r.expiresAt, now);
  }

  clear(): void {
    this.#lsts.clear();
    this.#nonces.clear();
  }

  add(consumerKey: string, record: LstRecord, env: Env): void {
    const kept = (this.#lsts.get(consumerKey) ?? []).filter((r) => env.state.sessions.has(r.bearer));
    this.#lsts.set(consumerKey, [...kept, record]);
  }

  records(consumerKey: string): LstRecord[] {
    return this.#lsts.get(consumerKey) ?? [];
  }

  /** Refuses a nonce seen before with the same consumer, token and timestamp (RFC 5849 §3.3). */
  checkNonce(key: string): void {
    if (this.#nonces.has(key))
      throw new Rejection(401, "oauth_nonce was already used: every request needs a new one");
  }

  useNonce(key: string, timestamp: number, nowSec: number, windowSec: number): void {
    if (nowSec - this.#prunedAt >= windowSec) {
      for (const [k, t] of this.#nonces) if (t < nowSec - windowSec) this.#nonces.delete(k);
      this.#prunedAt = nowSec;
    }
    this.#nonces.set(key, timestamp);
  }
}

interface Checked {
  consumer: Consumer;
  params: Map<string, string>;
  signature: string;
  nonceKey: string;
  timestamp: number;
}

/** Everything but the signature itself: header syntax, consumer, realm, token, method, timestamp, nonce. */
function checkHeader(call: Call, env: Env, registry: Oauth1Registry, method: string): Checked {
  const params = parseOAuthHeader(call.request.headers.get("authorization"));
  if (!params)
    throw new Rejection(401, 'Authorization must be an OAuth header: OAuth realm="…", oauth_…="…"');
  const consumer = registry.consumers.get(params.get("oauth_consumer_key") ?? "");
  if (!consumer) throw new Rejection(401, "oauth_consumer_key is not a registered consumer");
  if (params.get("realm") !== consumer.realm)
    throw new Rejection(401, `realm must be "${consumer.realm}" for this consumer`);
  if (params.get("oauth_token") !== consumer.options.accessToken)
    throw new Rejection(401, "oauth_token is not this consumer's access token");
  if (params.get("oauth_signature_method") !== method)
    throw new Rejection(401, `oauth_signature_method must be ${method} here`);
  const version = params.get("oauth_version");
  if (version !== undefined && version !== "1.0") throw new Rejection(401, 'oauth_version must be "1.0"');
  const ts = params.get("oauth_timestamp") ?? "";
  if (!/^\d{1,10}$/.test(ts)) throw new Rejection(401, "oauth_timestamp must be Unix seconds");
  const timestamp = Number(ts);
  if (Math.abs(env.clock.nowSec() - timestamp) > env.settings.clockSkewSec)
    throw new Rejection(401, "oauth_timestamp is outside the accepted window (check the clock)");
  const nonce = params.get("oauth_nonce");
  if (!nonce) throw new Rejection(401, "oauth_nonce is required");
  const signature = params.get("oauth_signature");
  if (!signature) throw new Rejection(401, "oauth_signature is required");
  const nonceKey = `${consumer.options.consumerKey}\u0000${ts}\u0000${nonce}`;
  registry.checkNonce(nonceKey);
  return { consumer, params, signature, nonceKey, timestamp };
}

/** The origins a client may have signed: the URL it sent (Host header) and where the emulator listens. */
function originsOf(call: Call): string[] {
  return [call.url.origin, ...(call.localOrigin ? [call.localOrigin] : [])];
}

function reject(e: unknown): Response {
  if (e instanceof Rejection) return apiError(e.status, e.message);
  throw e;
}

/** POST /v1/api/oauth/live_session_token (protocol §7.2). */
export async function liveSessionTokenEndpoint(call: Call, env: Env): Promise<Response> {
  const registry = env.oauth1;
  if (!registry) return apiError(404, "Not Found");
  if (call.method !== "POST") return apiError(405, "Method Not Allowed");
  try {
    const checked = checkHeader(call, env, registry, "RSA-SHA256");
    const { consumer, params } = checked;
    const challengeHex = params.get("diffie_hellman_challenge") ?? "";
    if (!/^[0-9a-f]+$/i.test(challengeHex))
      throw new Rejection(401, "diffie_hellman_challenge is required, as hex");
    const challenge = BigInt(`0x${challengeHex}`);
    if (challenge <= 1n || challenge >= consumer.prime - 1n)
      throw new Rejection(401, "diffie_hellman_challenge is out of range for this consumer's prime");
    const prepend = Array.from(consumer.secret, (b) => b.toString(16).padStart(2, "0")).join("");
    const key = await env.keys.get(
      `oauth1:${consumer.options.consumerKey}`,
      "signature",
      consumer.options.signaturePublicKey,
    );
    let signature: Uint8Array;
    try {
      signature = fromBase64(checked.signature);
    } catch {
      throw new Rejection(401, "oauth_signature is not base64");
    }
    const bases = candidateBaseStrings(call.method, call.url, originsOf(call), params, prepend);
    let verified = false;
    for (const base of bases)
      verified ||= await crypto.subtle.verify(
        "RSASSA-PKCS1-v1_5",
        key,
        signature as BufferSource,
        new TextEncoder().encode(base) as BufferSource,
      );
    if (!verified)
      throw new Rejection(
        401,
        "oauth_signature does not verify with the registered signature key (base string: prepend + METHOD&url&params)",
      );
    registry.useNonce(checked.nonceKey, checked.timestamp, env.clock.nowSec(), env.settings.clockSkewSec);
    const dh = await serverLiveSessionToken(
      challenge,
      consumer.prime,
      consumer.generator,
      fromHex(prepend),
      consumer.options.consumerKey,
    );
    const now = env.clock.now();
    const expiresAt = now + env.settings.lstLifetimeSec * 1000;
    const session = env.state.createSession(
      consumer.options.consumerKey,
      consumer.options.credential,
      new Set([call.ip]),
      env.settings.revokeEarlierBearers,
    );
    registry.add(consumer.options.consumerKey, { lst: dh.lst, bearer: session.bearer, expiresAt }, env);
    return json({
      diffie_hellman_response: dh.response,
      live_session_token_signature: dh.signature,
      live_session_token_expiration: expiresAt,
    });
  } catch (e) {
    return reject(e);
  }
}

/** The session behind an HMAC-SHA256-signed /v1/api request, or the 401 that refuses it. */
export async function oauth1Session(call: Call, env: Env): Promise<SsoSession | Response> {
  const registry = env.oauth1;
  if (!registry) return apiError(401, "Unauthorized");
  try {
    const checked = checkHeader(call, env, registry, "HMAC-SHA256");
    const bases = candidateBaseStrings(call.method, call.url, originsOf(call), checked.params);
    const encoder = new TextEncoder();
    for (const record of registry.records(checked.consumer.options.consumerKey)) {
      for (const base of bases) {
        const expected = toBase64(await hmac("SHA-256", record.lst, encoder.encode(base)));
        if (!sameText(expected, checked.signature)) continue;
        if (record.expiresAt <= env.clock.now()) {
          const s = env.state.sessions.get(record.bearer);
          if (s) s.ended ??= "expired-bearer";
          throw new Rejection(401, "the live session token has expired: compute a new one");
        }
        const session = env.state.live(record.bearer);
        if (!session) throw new Rejection(401, "Unauthorized");
        registry.useNonce(checked.nonceKey, checked.timestamp, env.clock.nowSec(), env.settings.clockSkewSec);
        return session;
      }
    }
    throw new Rejection(401, "oauth_signature does not match any live session token of this consumer");
  } catch (e) {
    return reject(e);
  }
}

/** Does the request carry an OAuth 1.0a Authorization header (rather than a Bearer)? */
export function isOauth1(request: Request): boolean {
  return /^\s*OAuth\s/i.test(request.headers.get("authorization") ?? "");
}
