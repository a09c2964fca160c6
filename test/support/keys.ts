import { generateClientKeys, generateOauth1Credentials, type Oauth1Credentials } from "@ibauth/emulator";

export type ClientKeys = Awaited<ReturnType<typeof generateClientKeys>>;

// RSA-2048 generation takes 50 ms to seconds depending on the runtime: one pair per run, plus a
// second pair for "signed with an unregistered key" cases, each made once and shared.
const cache = new Map<string, Promise<ClientKeys>>();

export function cachedKeys(name: "main" | "other" = "main"): Promise<ClientKeys> {
  let keys = cache.get(name);
  if (!keys) {
    keys = generateClientKeys({ bits: 2048 });
    cache.set(name, keys);
  }
  return keys;
}

let oauth1: Promise<Oauth1Credentials> | undefined;

/** One set of OAuth 1.0a credentials per run (two RSA pairs and an encrypted secret). */
export function cachedOauth1(): Promise<Oauth1Credentials> {
  oauth1 ??= generateOauth1Credentials({ consumerKey: "CONFCONS1", credential: "canaryOauth1Q7zX" });
  return oauth1;
}
