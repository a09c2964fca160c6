// OAuth 1.0a first-party (protocol notes §7): the live session token by Diffie-Hellman under an
// RSA-SHA256 signature, then every request signed HMAC-SHA256 with it. The secrets (access token, the
// access-token secret in both forms, the LST, the DH exponent, the keys) stay in this module: the LST and
// the decrypted secret are registered for redaction, the DH exponent never leaves a local variable.
import * as v from "valibot";
import type { ResolvedConfig, ResolvedOAuth1 } from "../config";
import { PATHS } from "../endpoints";
import { IbauthError, type IbauthStep, isIbauthError } from "../errors";
import { requestJson, withRetry } from "../http";
import { base64ToBytes } from "../keys";
import type { Mechanism, MechanismHost, SessionKey } from "../mechanism";
import type { AuthStatus } from "../types";
import { bytesToHex, hexToBigInt } from "./bigint";
import { dhChallenge, dhSharedSecret } from "./dh";
import { isValidLiveSessionToken, liveSessionToken } from "./lst";
import { decryptedSecret, importOAuth1SignatureKey } from "./prepared";
import { parseRsaPrivateKeyPem } from "./rsa-decrypt";
import {
  authorizationHeader,
  bytesToBase64,
  hmacSha256Signature,
  oauthNonce,
  requestSigningKey,
  rsaSha256Signature,
  signatureBaseString,
} from "./signing";

const LstResponse = v.object({
  diffie_hellman_response: v.pipe(v.string(), v.regex(/^[0-9a-fA-F]+$/)),
  live_session_token_signature: v.pipe(v.string(), v.regex(/^[0-9a-fA-F]+$/)),
  live_session_token_expiration: v.number(),
});

/**
 * IBKR answers a bare 401 to a live-session-token request for any of these: each is part of what it
 * verifies (the RSA signature covers the decrypted secret; the DH challenge is checked against the prime).
 */
const LST_REFUSED_HINT =
  "Check, against what the Self-Service Portal registered: consumerKey, accessToken and realm belong together (realm limited_poa; test_realm only with TESTCONS); signatureKey is the private key of the uploaded signature pair; accessTokenSecret is the portal's base64 for this access token and encryptionKey the private key of the uploaded encryption pair (the signature covers the decrypted secret); dhPrime is the prime of the uploaded dhparam.pem; and the clock is right (oauth_timestamp)";

/** A 401 for requests signed with an LST IBKR just issued: the keys, secret and prime were right. */
const SIGNED_REFUSED_HINT =
  "The live session token was accepted, so the keys, secret and DH prime are right: check the realm (limited_poa; test_realm only with TESTCONS) and the clock (oauth_timestamp)";

function lstError(message: string, hint: string, cause?: unknown): IbauthError {
  return new IbauthError(message, { code: "ERR_KEY", step: "lst", hint, ...(cause ? { cause } : {}) });
}

export class OAuth1Mechanism implements Mechanism {
  readonly identity: string;
  readonly #c: ResolvedOAuth1;
  readonly #cfg: ResolvedConfig;
  readonly #host: MechanismHost;
  readonly #prime: bigint;
  #prepared: Promise<{ prepend: string; signatureKey: CryptoKey }> | undefined;
  /** The current LST as an HMAC key, imported once. */
  #lst: { token: string; key: Promise<CryptoKey> } | undefined;

  constructor(cfg: ResolvedConfig, host: MechanismHost) {
    this.#cfg = cfg;
    this.#c = cfg.oauth1 as ResolvedOAuth1;
    this.#host = host;
    this.identity = `oauth1\n${this.#c.consumerKey}\n${cfg.baseUrl ?? "ibkr"}`;
    this.#prime = hexToBigInt(this.#c.dhPrime);
    for (const secret of [this.#c.accessToken, this.#c.accessTokenSecret, this.#c.encryptionKey])
      host.flow.remember(secret);
    if (typeof this.#c.signatureKey === "string") host.flow.remember(this.#c.signatureKey);
  }

  /** Why the secret did not decrypt: the key is unreadable (parsed again only now, on failure), or the pair does not match. */
  #secretError(e: unknown): IbauthError {
    try {
      parseRsaPrivateKeyPem(this.#c.encryptionKey);
    } catch (unreadable) {
      return lstError(
        `encryptionKey: ${(unreadable as Error).message}`,
        "encryptionKey must be the RSA private key (PEM, PKCS#8 or PKCS#1) of the encryption pair whose public key was uploaded in the Self-Service Portal (private_encryption.pem)",
      );
    }
    return lstError(
      `the access-token secret could not be decrypted with encryptionKey: ${(e as Error).message}`,
      "encryptionKey must be the private key of the encryption pair uploaded in the portal, and accessTokenSecret the base64 the portal showed",
    );
  }

  /** The access-token secret decrypted (IBKR's "prepend") and the signature key imported, once per process. */
  #prepare(): Promise<{ prepend: string; signatureKey: CryptoKey }> {
    this.#prepared ??= (async () => {
      let prepend: string;
      try {
        prepend = await decryptedSecret(this.#c.encryptionKey, this.#c.accessTokenSecret);
      } catch (e) {
        throw this.#secretError(e);
      }
      this.#host.flow.remember(prepend);
      return { prepend, signatureKey: await importOAuth1SignatureKey(this.#c.signatureKey) };
    })();
    return this.#prepared;
  }

  #params(method: "RSA-SHA256" | "HMAC-SHA256"): Record<string, string> {
    return {
      oauth_consumer_key: this.#c.consumerKey,
      oauth_nonce: oauthNonce(),
      oauth_signature_method: method,
      oauth_timestamp: String(Math.floor(this.#cfg.now() / 1000)),
      oauth_token: this.#c.accessToken,
    };
  }

  /** POST /oauth/live_session_token (protocol notes §7.2), then the LST from the DH answer, checked. */
  async obtain(reason: string): Promise<SessionKey> {
    const { prepend, signatureKey } = await this.#prepare();
    const ctx = this.#host.flow;
    const url = ctx.origin + PATHS.liveSessionToken;
    const { data, secret } = await withRetry(ctx.http, "lst", async () => {
      // a new exponent and signature per attempt: a retried request must not replay the nonce
      const dh = dhChallenge(this.#prime, BigInt(this.#c.dhGenerator));
      const params = { ...this.#params("RSA-SHA256"), diffie_hellman_challenge: dh.challengeHex };
      const base = signatureBaseString("POST", new URL(url), params, prepend);
      const signature = await rsaSha256Signature(signatureKey, base);
      const authorization = authorizationHeader({ ...params, oauth_signature: signature }, this.#c.realm);
      try {
        const answer = await requestJson(ctx.http, {
          step: "lst",
          method: "POST",
          url,
          headers: { Authorization: authorization },
        });
        return { data: answer, secret: dh.secret };
      } catch (e) {
        if (isIbauthError(e) && (e.status === 401 || e.status === 403))
          throw new IbauthError("IBKR refused the live session token request", {
            code: "ERR_AUTH",
            step: "lst",
            status: e.status,
            ...(e.ibkrMessage ? { ibkrMessage: e.ibkrMessage } : {}),
            ...(e.response ? { response: e.response } : {}),
            hint: LST_REFUSED_HINT,
          });
        throw e;
      }
    });
    const parsed = v.safeParse(LstResponse, data);
    if (!parsed.success)
      throw new IbauthError("IBKR's live_session_token answer has an unexpected shape", {
        code: "ERR_PROTOCOL",
        step: "lst",
      });
    const r = parsed.output;
    let lst: Uint8Array;
    try {
      lst = await liveSessionToken(
        dhSharedSecret(hexToBigInt(r.diffie_hellman_response), secret, this.#prime),
        prepend,
      );
    } catch {
      throw new IbauthError("IBKR's Diffie-Hellman response is out of range for this prime", {
        code: "ERR_PROTOCOL",
        step: "lst",
        hint: "dhPrime must be the prime of the dhparam.pem registered in the portal",
      });
    }
    if (!(await isValidLiveSessionToken(lst, this.#c.consumerKey, r.live_session_token_signature)))
      throw lstError(
        "the computed live session token does not match IBKR's signature of it",
        "The access-token secret decrypted to something IBKR did not encrypt, or dhPrime is not the registered one: check encryptionKey, accessTokenSecret and dhPrime",
      );
    const token = bytesToBase64(lst);
    this.#host.flow.remember(token);
    this.#host.flow.remember(bytesToHex(lst));
    this.#lst = { token, key: requestSigningKey(lst) };
    this.#cfg.logger.info(
      { step: "lst", reason, expiresAt: new Date(r.live_session_token_expiration).toISOString() },
      "live session token computed",
    );
    return { token, ip: "", createdAt: this.#cfg.now(), expiresAt: r.live_session_token_expiration };
  }

  /** HMAC-SHA256 with the LST over the RFC 5849 base string, query parameters included. */
  async authorize(key: SessionKey, method: string, url: string): Promise<string> {
    if (this.#lst?.token !== key.token) {
      // a key adopted from the store: its hex form is a secret too
      const bytes = base64ToBytes(key.token);
      this.#host.flow.remember(bytesToHex(bytes));
      this.#lst = { token: key.token, key: requestSigningKey(bytes) };
    }
    const params = this.#params("HMAC-SHA256");
    const signature = await hmacSha256Signature(
      await this.#lst.key,
      signatureBaseString(method, new URL(url), params),
    );
    return authorizationHeader({ ...params, oauth_signature: signature }, this.#c.realm);
  }

  refusal(_key: SessionKey | undefined, response: Response | undefined, step: IbauthStep): IbauthError {
    return new IbauthError("IBKR refused requests signed with a live session token computed moments ago", {
      code: "ERR_AUTH",
      step,
      status: 401,
      ...(response ? { response } : {}),
      hint: SIGNED_REFUSED_HINT,
    });
  }

  /** IBKR states the LST's expiry; it is replaced `refreshMarginMs` before. */
  expiring(key: SessionKey): boolean {
    return key.expiresAt !== undefined && key.expiresAt - this.#cfg.refreshMarginMs <= this.#cfg.now();
  }

  async maintain(): Promise<void> {}

  persisted(): Record<string, never> {
    return {};
  }

  adopt(): void {}

  status(key: SessionKey | undefined): Partial<AuthStatus> {
    return key?.expiresAt === undefined ? {} : { liveSessionTokenExpiresAt: key.expiresAt };
  }
}
