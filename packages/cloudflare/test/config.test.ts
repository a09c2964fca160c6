import { describe, expect, it } from "vitest";
import { CANARY, harness } from "./support";

describe("configuration problems", () => {
  it("missing settings: /health lists them (names only), the cron tick logs them, nothing crashes", async () => {
    const h = await harness({
      env: {
        IBKR_CLIENT_ID: undefined,
        IBKR_PRIVATE_KEY: undefined,
        IBAUTH_SESSION_KEY: undefined,
        IBAUTH_SESSIONS: undefined,
      },
    });
    const { status, body } = await h.health();
    expect(status).toBe(503);
    expect(body.state).toBe("misconfigured");
    expect(body.config.problems.map((p: { setting: string }) => p.setting).sort()).toEqual([
      "IBAUTH_SESSIONS",
      "IBAUTH_SESSION_KEY",
      "IBKR_CLIENT_ID",
      "IBKR_PRIVATE_KEY",
    ]);
    await expect(h.tick()).resolves.toBeUndefined();
    expect(h.logs.some((l) => l.includes("configuration incomplete") && l.includes("IBKR_CLIENT_ID"))).toBe(
      true,
    );
    const proxied = await h.api("/v1/api/portfolio/accounts");
    expect(proxied.status).toBe(503);
    expect(h.emu.requests).toEqual([]);
  });

  it("invalid values are named without echoing them", async () => {
    const h = await harness({
      env: {
        IBKR_PRIVATE_KEY: `not-a-pem-${CANARY.credential}`,
        IBAUTH_SESSION_KEY: "c2hvcnQ=",
        IBAUTH_API_KEY: "short-key",
        IBKR_IP: "not-an-ip",
        IBKR_ALTERNATIVE_IPS: "203.0.113.5, nope",
        IBKR_DOMAIN: "evil.example",
        IBKR_BASE_URL: undefined,
      },
    });
    const { status, body } = await h.health();
    expect(status).toBe(503);
    const settings = body.config.problems.map((p: { setting: string }) => p.setting).sort();
    // All at once: a bad IBKR_DOMAIN is not held back until the others are fixed.
    expect(settings).toEqual([
      "IBAUTH_API_KEY",
      "IBAUTH_SESSION_KEY",
      "IBKR_ALTERNATIVE_IPS",
      "IBKR_DOMAIN",
      "IBKR_IP",
      "IBKR_PRIVATE_KEY",
    ]);
    const text = JSON.stringify(body);
    for (const value of [
      "not-a-pem",
      CANARY.credential,
      "c2hvcnQ=",
      "short-key",
      "not-an-ip",
      "nope",
      "evil.example",
    ])
      expect(text).not.toContain(value);
  });

  it("the core's own checks come back as setting names, with its reason and without the value", async () => {
    for (const [setting, value] of [
      ["IBKR_DOMAIN", "evil.example"],
      ["IBKR_BASE_URL", "http://evil.example/ibkr"],
    ] as const) {
      const h = await harness({ env: { IBKR_BASE_URL: undefined, [setting]: value } });
      const { status, body } = await h.health();
      expect(status).toBe(503);
      expect(body.config.problems.map((p) => p.setting)).toEqual([setting]);
      expect(body.config.problems[0]?.problem).toContain(setting);
      expect(JSON.stringify(body)).not.toContain("evil.example");
    }
  });

  it("accepts a PEM whose newlines were stored as \\n by a shell", async () => {
    const h = await harness();
    const flat = h.privateKeyPem.replace(/\n/g, "\\n");
    const f = await harness({ env: { IBKR_PRIVATE_KEY: flat } });
    await f.tick();
    expect((await f.health()).status).toBe(200);
  });

  it("a wrong key surfaces as the core's error with its hint in /health and from /session/login", async () => {
    const h = await harness({ env: { IBKR_CLIENT_KEY_ID: "not-registered" } });
    await h.tick();
    const login = await h.api("/session/login", { method: "POST" });
    expect(login.status).toBe(502);
    const answer = await login.text();
    expect(answer).toContain("ERR_AUTH");
    for (const secret of [CANARY.credential, CANARY.apiKey, h.privateKeyPem.split("\n")[1] ?? "?"]) {
      expect(answer).not.toContain(secret);
    }
    const { status, body } = await h.health();
    expect(status).toBe(503);
    expect(body.lastError?.step).toBe("token");
    expect(body.lastError?.hint).toMatch(/kid|key/i);
  });

  it("an unreachable KV namespace: /health says so with 503, the cron tick logs it, neither throws", async () => {
    const failing = {
      get: async () => {
        throw new Error("KV GET failed: 503 Service Unavailable");
      },
      put: async () => {
        throw new Error("KV PUT failed: 503 Service Unavailable");
      },
      delete: async () => {
        throw new Error("KV DELETE failed: 503 Service Unavailable");
      },
    };
    const h = await harness({ env: { IBAUTH_SESSIONS: failing } });
    const { status, body } = await h.health();
    expect(status).toBe(503);
    expect(body.reasons.join(" ")).toContain("KV");
    await expect(h.tick()).resolves.toBeUndefined();
    expect(h.logs.some((l) => l.includes('"level":"error"'))).toBe(true);
    expect((await h.api("/v1/api/portfolio/accounts")).status).toBe(500);
  });
});
