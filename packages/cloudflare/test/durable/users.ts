// The test users, shared by the Node setup (bindings, emulator) and the tests. Users u1 … u40 share one
// OAuth client and each has its own username, API key, IP claim and emulator path; `u0` is the
// single-user mode's user (IBAUTH_USERS unset: the KV mode's unsuffixed names).
export const USERS = 40;
export const CLIENT_ID = "canary-client-9d2e41";
export const OPERATOR_KEY = "canary-operator-key-7c1d9e2f4a6b";

export const numberOf = (label: string) => (label === "default" ? 0 : Number(label.slice(1)));
export const ipOf = (label: string) =>
  label === "gone" ? "198.51.100.41" : `198.51.100.${numberOf(label) || 100}`;
export const credentialOf = (label: string) => `canaryuser${numberOf(label)}q`;
export const apiKeyOf = (label: string) => `canary-api-key-u${numberOf(label)}-5b8c0e1d2f3a4b5c`;
/** The bundled example's one user (test/durable/bare.test.ts), at an emulator of its own. */
export const BARE_CREDENTIAL = "canarybareuserq";
/** A configured user that IBAUTH_USERS (of the objects' env) does not list: one taken out of the Worker. */
export const GONE = {
  label: "gone",
  credential: "canarygoneuserq",
  apiKey: "canary-api-key-gone-5b8c0e1d2f3a",
  ip: "198.51.100.41",
};
/**
 * The OAuth 1.0a user (IBKR_OAUTH1_*_SSP) beside the OAuth 2.0 ones: IBKR reached at the emulator's root
 * (a relay's path prefix would change the URL the signature covers), so the emulator sees it from its
 * default caller IP.
 */
export const SSP = {
  label: "ssp",
  consumerKey: "CANARYSSP",
  credential: "canarysspuserq",
  apiKey: "canary-api-key-ssp-5b8c0e1d2f3a",
  ip: "203.0.113.10",
};

/** The SSP user's bindings, keys and prime as text as a Worker gets them. */
export function oauth1Bindings(
  client: {
    accessToken: string;
    accessTokenSecret: string;
    signatureKey: string;
    encryptionKey: string;
    dhPrime: string;
  },
  emulatorUrl: string,
): Record<string, string> {
  return {
    IBKR_OAUTH1_CONSUMER_KEY_SSP: SSP.consumerKey,
    IBKR_OAUTH1_ACCESS_TOKEN_SSP: client.accessToken,
    IBKR_OAUTH1_ACCESS_TOKEN_SECRET_SSP: client.accessTokenSecret,
    IBKR_OAUTH1_SIGNATURE_KEY_SSP: client.signatureKey,
    IBKR_OAUTH1_ENCRYPTION_KEY_SSP: client.encryptionKey,
    IBKR_OAUTH1_DH_PRIME_SSP: client.dhPrime,
    IBKR_BASE_URL_SSP: emulatorUrl,
    IBAUTH_API_KEY_SSP: SSP.apiKey,
  };
}

export const CREDENTIALS = [
  ...Array.from({ length: USERS + 1 }, (_, n) => `canaryuser${n}q`),
  GONE.credential,
];

/** Bindings of the test Worker: every user's settings, the emulator reached under /u<N>. */
export function userBindings(emulatorUrl: string): Record<string, string> {
  const out: Record<string, string> = {
    IBKR_CREDENTIAL: credentialOf("default"),
    IBAUTH_API_KEY: apiKeyOf("default"),
    IBKR_BASE_URL: `${emulatorUrl}/u0`,
    IBKR_IP: ipOf("default"),
  };
  out.IBAUTH_USERS = [...Array.from({ length: USERS }, (_, i) => `u${i + 1}`), SSP.label].join(",");
  out.IBKR_CREDENTIAL_GONE = GONE.credential;
  out.IBAUTH_API_KEY_GONE = GONE.apiKey;
  out.IBKR_BASE_URL_GONE = `${emulatorUrl}/u41`; // test/durable/world.ts: /u41 is caller IP 198.51.100.41
  out.IBKR_IP_GONE = GONE.ip;
  for (let n = 1; n <= USERS; n++) {
    out[`IBKR_CREDENTIAL_U${n}`] = credentialOf(`u${n}`);
    out[`IBAUTH_API_KEY_U${n}`] = apiKeyOf(`u${n}`);
    out[`IBKR_BASE_URL_U${n}`] = `${emulatorUrl}/u${n}`;
    out[`IBKR_IP_U${n}`] = ipOf(`u${n}`);
  }
  return out;
}
