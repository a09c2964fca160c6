import {
  type ClientKeyPair,
  createEmulator,
  type Emulator,
  type EmulatorOptions,
  generateClientKeys,
} from "@ibauth/emulator";
import { type CryptoKey, importPKCS8, SignJWT } from "jose";

export const CLIENT_ID = "demo-client";
export const USERNAME = "demouser";
export const IP = "203.0.113.10";
export const BASE = "http://127.0.0.1:1";
export const UA = "ibauth-emulator-test/1.0";

let keysOnce: Promise<ClientKeyPair> | undefined;
/** One key pair per test file: RSA generation is the slow part. */
export function clientKeys(): Promise<ClientKeyPair> {
  keysOnce ??= generateClientKeys({ bits: 2048 });
  return keysOnce;
}

/** A controllable clock for tests: starts at a fixed instant (10:00 UTC, far from the 05:00 reset). */
export function testClock(start = Date.UTC(2026, 10, 27, 10, 0, 0)) {
  let t = start;
  return { now: () => t, set: (v: number) => (t = v), add: (ms: number) => (t += ms) };
}

export interface Rig {
  emu: Emulator;
  keys: ClientKeyPair;
  privateKey: CryptoKey;
  /** Seconds on the emulator's clock. */
  nowSec(): number;
  assertion(claims?: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
  ssoJwt(claims?: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
  token(fields?: Record<string, string>): Promise<Response>;
  accessToken(): Promise<string>;
  sso(body: string, accessToken: string, headers?: Record<string, string>): Promise<Response>;
  bearer(claims?: Record<string, unknown>): Promise<string>;
  api(path: string, bearer: string, init?: RequestInit & { ip?: string }): Promise<Response>;
  /** bearer + ssodh/init */
  brokerage(claims?: Record<string, unknown>): Promise<string>;
}

export async function rig(options: Partial<EmulatorOptions> = {}): Promise<Rig> {
  const keys = await clientKeys();
  const privateKey = await importPKCS8(keys.privateKeyPem, "RS256");
  const emu = createEmulator({
    clients: [
      { clientId: CLIENT_ID, keys: { main: keys.publicKeyPem }, credentials: [USERNAME, "otheruser"] },
    ],
    egressIp: IP,
    ...options,
  });
  const nowSec = () => Math.floor(emu.now() / 1000);
  const sign = (claims: Record<string, unknown>, header: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: "main", ...header })
      .sign(privateKey);
  const r: Rig = {
    emu,
    keys,
    privateKey,
    nowSec,
    // IBKR's sample window: iat now-10, exp now+20
    assertion: (claims = {}, header = {}) =>
      sign(
        { iss: CLIENT_ID, sub: CLIENT_ID, aud: "/token", iat: nowSec() - 10, exp: nowSec() + 20, ...claims },
        header,
      ),
    ssoJwt: (claims = {}, header = {}) =>
      sign(
        { iss: CLIENT_ID, credential: USERNAME, ip: IP, iat: nowSec(), exp: nowSec() + 86400, ...claims },
        header,
      ),
    async token(fields = {}) {
      const form = new URLSearchParams({
        grant_type: "client_credentials",
        client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        client_assertion: await r.assertion(),
        scope: "sso-sessions.write",
        ...fields,
      });
      for (const [k, v] of Object.entries(fields)) if (v === "") form.delete(k);
      return emu.fetch(`${BASE}/oauth2/api/v1/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "user-agent": UA },
        body: form.toString(),
      });
    },
    async accessToken() {
      const res = await r.token();
      if (res.status !== 200) throw new Error(`token: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    sso: (body, accessToken, headers = {}) =>
      emu.fetch(`${BASE}/gw/api/v1/sso-sessions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${accessToken}`,
          "content-type": "application/jwt",
          "user-agent": UA,
          ...headers,
        },
        body,
      }),
    async bearer(claims = {}) {
      const res = await r.sso(await r.ssoJwt(claims), await r.accessToken());
      if (res.status !== 200) throw new Error(`sso-sessions: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    api(path, bearer, init = {}) {
      const { ip, headers, ...rest } = init;
      return emu.fetch(`${BASE}/v1/api${path}`, {
        method: "GET",
        ...rest,
        headers: {
          authorization: `Bearer ${bearer}`,
          "user-agent": UA,
          ...(ip ? { "x-emulator-client-ip": ip } : {}),
          ...(headers as Record<string, string>),
        },
      });
    },
    async brokerage(claims = {}) {
      const b = await r.bearer(claims);
      const res = await r.api("/iserver/auth/ssodh/init", b, {
        method: "POST",
        body: '{"publish":true,"compete":true}',
      });
      if (res.status !== 200) throw new Error(`ssodh/init: ${res.status} ${await res.text()}`);
      return b;
    },
  };
  return r;
}
