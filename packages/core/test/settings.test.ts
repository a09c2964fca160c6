import { IBAuth, settingsFromConfigFile, settingsFromEnv, unknownKeyWarning } from "@ibauth/core";
import { describe, expect, it } from "vitest";
import { thrownBy } from "./fixture";

const pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";

describe("settingsFromEnv", () => {
  it("maps IBKR_* variables, splits alternative IPs and unescapes one-line PEMs", () => {
    const s = settingsFromEnv({
      IBKR_CLIENT_ID: "c",
      IBKR_CLIENT_KEY_ID: "main",
      IBKR_CREDENTIAL: "u",
      IBKR_PRIVATE_KEY: pem.replace(/\n/g, "\\n"),
      IBKR_DOMAIN: "2.api.ibkr.com",
      IBKR_ALTERNATIVE_IPS: " 198.51.100.1, 198.51.100.2 ,",
      IBKR_IP: "198.51.100.9",
    });
    expect(s).toMatchObject({
      clientId: "c",
      privateKey: pem,
      domain: "2.api.ibkr.com",
      ip: "198.51.100.9",
      alternativeIps: ["198.51.100.1", "198.51.100.2"],
    });
    expect(new IBAuth(s).domain).toBe("2.api.ibkr.com");
  });

  it("names every missing variable at once", () => {
    const e = thrownBy(() => settingsFromEnv({ IBKR_CLIENT_KEY_ID: "main" }));
    expect(e.message).toBe(
      "config: environment: missing IBKR_CLIENT_ID, IBKR_CREDENTIAL, IBKR_PRIVATE_KEY or IBKR_PRIVATE_KEY_FILE",
    );
  });

  it("reads IBKR_PRIVATE_KEY_FILE through the runtime's reader, and says when the file cannot be read", () => {
    const env = {
      IBKR_CLIENT_ID: "c",
      IBKR_CLIENT_KEY_ID: "main",
      IBKR_CREDENTIAL: "u",
      IBKR_PRIVATE_KEY_FILE: "k.pem",
    };
    expect(settingsFromEnv(env, { readFile: (p) => (p === "k.pem" ? pem : "") }).privateKey).toBe(pem);
    const e = thrownBy(() =>
      settingsFromEnv(env, {
        readFile: () => {
          throw Object.assign(new Error("nope"), { code: "ENOENT" });
        },
      }),
    );
    expect(e.message).toContain("cannot read the private key file k.pem (ENOENT)");
    expect(thrownBy(() => settingsFromEnv(env)).field).toBe("IBKR_PRIVATE_KEY_FILE");
  });
});

describe("settingsFromConfigFile", () => {
  it("takes the Python ibauth keys unchanged", () => {
    const s = settingsFromConfigFile(
      {
        client_id: "c",
        client_key_id: "main",
        credential: "u",
        private_key_file: "key.pem",
        domain: "api.ibkr.com",
        alternative_ips: ["198.51.100.1"],
      },
      "config.yaml",
      { readFile: () => pem },
    );
    expect(s).toMatchObject({
      clientId: "c",
      clientKeyId: "main",
      credential: "u",
      privateKey: pem,
      alternativeIps: ["198.51.100.1"],
    });
  });

  it("refuses a near-typo of a known key with did you mean, and warns about nothing then", () => {
    const warned: string[] = [];
    const e = thrownBy(() =>
      settingsFromConfigFile({ account_id: "x", domian: "api.ibkr.com" }, "config.yaml", {
        warn: (m) => warned.push(m),
      }),
    );
    expect(e.message).toBe("config: config.yaml: unknown key domian; did you mean domain?");
    expect(e.field).toBe("domian");
    expect(warned).toEqual([]);
  });

  it("ignores other unknown keys (as the Python ibauth does) with one warning each, naming the key, never its value", () => {
    const canary = "canary-value-8d2k";
    const warned: string[] = [];
    const s = settingsFromConfigFile(
      {
        client_id: "c",
        client_key_id: "k",
        credential: "u",
        private_key: pem,
        account_id: canary,
        paper: true,
      },
      "config.yaml",
      { warn: (m) => warned.push(m) },
    );
    expect(s.clientId).toBe("c");
    expect(warned).toEqual([
      "config.yaml: unknown key account_id ignored",
      "config.yaml: unknown key paper ignored",
    ]);
    expect(warned.join("\n")).not.toContain(canary);
  });

  it("unknownKeyWarning: a typo within two edits of a known key is refused, a different word is not", () => {
    const known = ["client_id", "client_key_id", "credential", "ip"];
    expect(thrownBy(() => unknownKeyWarning("Client-ID", known, "f:3:1")).message).toBe(
      "config: f:3:1: unknown key Client-ID; did you mean client_id?",
    );
    expect(thrownBy(() => unknownKeyWarning("credentials", known, "f")).message).toContain(
      "did you mean credential?",
    );
    // One edit from "ip", but half its length: another word, not a typo.
    expect(unknownKeyWarning("id", known, "f")).toBe("f: unknown key id ignored");
    expect(unknownKeyWarning("account_id", known, "f")).toBe("f: unknown key account_id ignored");
  });

  it("names all missing keys", () => {
    const e = thrownBy(() => settingsFromConfigFile({ domain: "api.ibkr.com" }, "config.yaml"));
    expect(e.message).toContain(
      "missing client_id, client_key_id, credential, private_key or private_key_file",
    );
  });

  it("accepts extra keys an adapter handles", () => {
    expect(() =>
      settingsFromConfigFile(
        { client_id: "c", client_key_id: "k", credential: "u", private_key: pem, session_file: "s.json" },
        "f",
        {},
        ["session_file"],
      ),
    ).not.toThrow();
  });
});
