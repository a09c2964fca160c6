import { IBAuth, VALID_DOMAINS } from "@ibauth/core";
import { describe, expect, it } from "vitest";
import { thrownBy } from "./fixture";

const base = {
  clientId: "c",
  clientKeyId: "main",
  credential: "u",
  privateKey: "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----",
};

const configError = (options: unknown) => thrownBy(() => new IBAuth(options as never));

describe("options", () => {
  it("names every missing field in one error", () => {
    const e = configError({ clientKeyId: "main" });
    expect(e.code).toBe("ERR_CONFIG");
    expect(e.step).toBe("config");
    expect(e.message).toContain("missing clientId, credential, privateKey");
  });

  it("accepts only IBKR hosts as domain, and validates the setter", () => {
    expect(VALID_DOMAINS).toEqual(["api.ibkr.com", ...[1, 2, 3, 4, 5, 6, 7].map((n) => `${n}.api.ibkr.com`)]);
    expect(configError({ ...base, domain: "evil.example" }).field).toBe("domain");
    const auth = new IBAuth({ ...base, domain: "5.api.ibkr.com" });
    expect(auth.status().origin).toBe("https://5.api.ibkr.com");
    auth.domain = "1.api.ibkr.com";
    expect(auth.domain).toBe("1.api.ibkr.com");
    expect(() => {
      auth.domain = "8.api.ibkr.com";
    }).toThrow(/not an IBKR Web API host/);
  });

  it("allows plain http only to loopback", () => {
    expect(configError({ ...base, baseUrl: "http://10.0.0.5:8080" }).field).toBe("baseUrl");
    expect(new IBAuth({ ...base, baseUrl: "http://127.0.0.1:9/" }).status().origin).toBe(
      "http://127.0.0.1:9",
    );
    expect(new IBAuth({ ...base, baseUrl: "https://relay.example/ibkr/" }).status().origin).toBe(
      "https://relay.example/ibkr",
    );
    expect(configError({ ...base, ipLookupUrl: "http://whatismyip.example" }).field).toBe("ipLookupUrl");
  });

  it("a URL option that is no URL is named, never echoed (it may be a token pasted into the wrong setting)", () => {
    const canary = "CANARY-url-secret-7f3a";
    for (const [field, value] of [
      ["baseUrl", canary],
      ["baseUrl", `relay.example/?token=${canary}`],
      ["ipLookupUrl", `${canary} https://api.ipify.org`],
    ] as const) {
      const e = configError({ ...base, [field]: value });
      expect(e.field).toBe(field);
      expect(e.message).toMatch(new RegExp(`^config: ${field} is not a URL \\(expected https://`));
      expect(JSON.stringify([e.message, e.hint, e.stack, e.toJSON()])).not.toContain("CANARY");
    }
    const oauth1 = thrownBy(
      () =>
        new IBAuth({
          oauth1: {
            consumerKey: "K",
            accessToken: "t",
            accessTokenSecret: "AA==",
            signatureKey: "k",
            encryptionKey: "k",
            dhPrime: "17",
          },
          baseUrl: canary,
        }),
    );
    expect(oauth1.field).toBe("baseUrl");
    expect(oauth1.message).not.toContain("CANARY");
  });

  it("checks IP claims", () => {
    expect(configError({ ...base, ip: "1.2.3" }).field).toBe("ip");
    expect(configError({ ...base, alternativeIps: ["2001:db8::1", "nope"] }).field).toBe("alternativeIps");
    expect(new IBAuth({ ...base, ip: "2001:db8::1", alternativeIps: ["198.51.100.7"] })).toBeInstanceOf(
      IBAuth,
    );
  });

  it("rejects wrong types by field without echoing values", () => {
    const e = configError({ ...base, timeoutMs: -1, credential: 42 });
    expect(e.field).toBe("credential, timeoutMs");
    expect(e.message).not.toContain("42");
  });
});
