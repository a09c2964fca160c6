// A test-side OAuth 1.0a client on node:crypto, independent of both the SDK and the emulator, to drive
// the emulator's OAuth 1.0a endpoints. `form` picks the base string: RFC 5849 (query pairs included)
// or ibind's (bare URL, OAuth pairs only).
import { createDiffieHellman, createHmac, randomBytes, sign } from "node:crypto";
import type { Oauth1Credentials } from "@ibauth/emulator/node";

export type BaseForm = "rfc" | "ibind";

const enc = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function baseString(
  method: string,
  signedUrl: string,
  params: Record<string, string>,
  form: BaseForm,
): string {
  const url = new URL(signedUrl);
  const pairs = Object.entries(params);
  if (form === "rfc") pairs.push(...url.searchParams);
  const norm = pairs
    .map(([k, v]) => (form === "rfc" ? [enc(k), enc(v)] : [k, v]))
    .sort(([a, av], [b, bv]) =>
      a === b ? ((av as string) < (bv as string) ? -1 : 1) : (a as string) < (b as string) ? -1 : 1,
    )
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  return `${method}&${enc(`${url.origin}${url.pathname}`)}&${enc(norm)}`;
}

export function header(params: Record<string, string>, realm: string): string {
  const pairs = Object.keys(params)
    .sort()
    .map((k) => `${k}="${enc(params[k] as string)}"`);
  return `OAuth realm="${realm}", ${pairs.join(", ")}`;
}

export interface SignOptions {
  form?: BaseForm;
  /** The URL the signature covers, when it differs from the one fetched. */
  signedUrl?: string;
  realm?: string;
  token?: string;
  nonce?: string;
  timestamp?: number;
  method?: string;
}

export class TestOauth1Client {
  lst?: Buffer;
  constructor(
    readonly creds: Oauth1Credentials,
    readonly nowSec: () => number,
  ) {}

  params(method: string, o: SignOptions): Record<string, string> {
    return {
      oauth_consumer_key: this.creds.client.consumerKey,
      oauth_nonce: o.nonce ?? randomBytes(16).toString("hex"),
      oauth_signature_method: method,
      oauth_timestamp: String(o.timestamp ?? this.nowSec()),
      oauth_token: o.token ?? this.creds.client.accessToken,
    };
  }

  /** Headers for the LST request and a finish() that turns IBKR's answer into the LST. */
  lstRequest(url: string, o: SignOptions = {}) {
    const dh = createDiffieHellman(Buffer.from(this.creds.consumer.dhPrime, "hex"), Buffer.from([2]));
    dh.generateKeys();
    const params = {
      ...this.params(o.method ?? "RSA-SHA256", o),
      diffie_hellman_challenge: BigInt(`0x${dh.getPublicKey("hex")}`).toString(16),
    };
    const prepend = Buffer.from(this.creds.consumer.accessTokenSecret, "base64").toString("hex");
    const base = prepend + baseString("POST", o.signedUrl ?? url, params, o.form ?? "rfc");
    const signature = sign("sha256", Buffer.from(base), this.creds.client.signatureKey).toString("base64");
    const authorization = header(
      { ...params, oauth_signature: signature },
      o.realm ?? this.creds.client.realm,
    );
    const finish = (body: { diffie_hellman_response: string; live_session_token_signature: string }) => {
      const k = dh.computeSecret(Buffer.from(body.diffie_hellman_response.padStart(512, "0"), "hex"));
      let start = 0;
      while (k[start] === 0) start++;
      const minimal = k.subarray(start);
      const java = (minimal[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), minimal]) : minimal;
      const lst = createHmac("sha1", java).update(Buffer.from(prepend, "hex")).digest();
      const check = createHmac("sha1", lst).update(this.creds.client.consumerKey).digest("hex");
      if (check !== body.live_session_token_signature) throw new Error("LST signature mismatch");
      this.lst = lst;
      return lst;
    };
    return { authorization, finish };
  }

  /** The Authorization header for a request signed HMAC-SHA256 with the LST. */
  sign(method: string, url: string, o: SignOptions = {}): string {
    if (!this.lst) throw new Error("no LST yet");
    const params = this.params(o.method ?? "HMAC-SHA256", o);
    const base = baseString(method, o.signedUrl ?? url, params, o.form ?? "rfc");
    const signature = createHmac("sha256", this.lst).update(base).digest("base64");
    return header({ ...params, oauth_signature: signature }, o.realm ?? this.creds.client.realm);
  }
}
