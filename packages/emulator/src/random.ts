/** Random and derived identifiers. Everything here uses WebCrypto or plain arithmetic, so it runs anywhere. */

export function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export function randomToken(bytes = 32): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** FNV-1a: stable small numbers (user ids, account ids) derived from a username. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function defaultAccountId(username: string): string {
  return `DU${String(fnv1a(`acct:${username}`) % 10_000_000).padStart(7, "0")}`;
}

export function userIdFor(username: string): number {
  return 10_000_000 + (fnv1a(`user:${username}`) % 89_999_999);
}
