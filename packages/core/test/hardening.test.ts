import { IBAuth } from "@ibauth/core";
import { describe, expect, it } from "vitest";
import { CLIENT_ID, CREDENTIAL, ORIGIN, rejection, testBed, thrownBy } from "./fixture";

describe("IBKR's echoes of identifiers are redacted", () => {
  for (const [name, shape] of [
    ["upper case", (s: string) => s.toUpperCase()],
    ["lower case", (s: string) => s.toLowerCase()],
    ["as configured", (s: string) => s],
  ] as const) {
    it(`client id and username echoed in ${name} reach no error, status or log line`, async () => {
      const { auth, logger, emu } = await testBed({ auth: { retry: { attempts: 1 } } });
      emu.failNext({
        path: "/oauth2/api/v1/token",
        status: 400,
        body: { error: "invalid_client", error_description: `client ${shape(CLIENT_ID)} unknown` },
      });
      const token = await rejection(auth.connect());
      emu.failNext({
        path: "/gw/api/v1/sso-sessions",
        status: 403,
        body: { error: `user ${shape(CREDENTIAL)} is not enabled for ${shape(CLIENT_ID)}` },
      });
      const bearer = await rejection(auth.connect());
      expect(token.ibkrMessage).toBe("invalid_client: client [redacted] unknown");
      expect(bearer.ibkrMessage).toBe("user [redacted] is not enabled for [redacted]");
      const surfaces = [
        String(token),
        JSON.stringify(token),
        String(bearer),
        JSON.stringify(auth),
        ...logger.lines,
      ]
        .join("\n")
        .toLowerCase();
      expect(surfaces).not.toContain(CLIENT_ID.toLowerCase());
      expect(surfaces).not.toContain(CREDENTIAL.toLowerCase());
    });
  }

  it("ssodh/init's message, kept in status(), is redacted too", async () => {
    const { auth, emu } = await testBed();
    emu.failNext({
      path: "/v1/api/iserver/auth/ssodh/init",
      status: 200,
      body: {
        authenticated: true,
        connected: true,
        competing: false,
        message: `hello ${CREDENTIAL.toUpperCase()}`,
      },
    });
    await auth.connect();
    expect(auth.status().brokerage?.message).toBe("hello [redacted]");
  });
});

describe("nonsense lifetimes", () => {
  for (const expiresIn of [1e308, -5, 0, "soon", 10 * 365 * 86_400]) {
    it(`expires_in ${JSON.stringify(expiresIn)} is a protocol error at the token step, not a crash`, async () => {
      const { auth, emu } = await testBed({ auth: { retry: { attempts: 1 } } });
      emu.failNext({
        path: "/oauth2/api/v1/token",
        status: 200,
        body: { access_token: "tok-123456", token_type: "Bearer", expires_in: expiresIn },
      });
      const e = await rejection(auth.connect());
      expect(e.code).toBe("ERR_PROTOCOL");
      expect(e.step).toBe("token");
      expect(auth.status().state).toBe("degraded");
    });
  }

  it("a lifetime longer than IBKR's day is clamped to a day", async () => {
    const { auth, emu, clock } = await testBed();
    emu.failNext({
      path: "/oauth2/api/v1/token",
      status: 200,
      body: { access_token: "tok-123456", token_type: "Bearer", expires_in: 30 * 86_400 },
    });
    await auth.getAccessToken();
    expect(auth.status().accessTokenExpiresAt).toBe(clock.t + 86_400_000);
  });
});

describe("baseUrl", () => {
  it("with credentials is refused, naming the field and not the password", async () => {
    const { options } = await testBed();
    for (const baseUrl of ["https://user:pa55word@relay.example/ibkr", "https://user@relay.example"]) {
      const e = thrownBy(() => new IBAuth({ ...options, baseUrl }));
      expect(e.code).toBe("ERR_CONFIG");
      expect(e.field).toBe("baseUrl");
      expect(e.message).toContain("credentials");
      expect(e.message).not.toContain("pa55word");
    }
    expect(() => new IBAuth({ ...options, baseUrl: ORIGIN })).not.toThrow();
  });
});

describe("'no bridge' is IBKR's exact answer, not a substring", () => {
  it("a 400 that echoes 'no bridge' from caller input neither re-opens nor takes the session", async () => {
    const { auth, emu } = await testBed();
    await auth.connect();
    const inits = () => emu.counts()["POST /v1/api/iserver/auth/ssodh/init"];
    const before = inits();
    emu.failNext({
      path: "/v1/api/iserver/secdef/search",
      status: 400,
      body: { error: "invalid symbol: no bridge" },
    });
    const res = await auth.fetch("/v1/api/iserver/secdef/search?symbol=no%20bridge");
    expect(res.status).toBe(400);
    expect(inits()).toBe(before);
  });

  it("IBKR's own {error: 'Bad Request: no bridge'} still heals", async () => {
    const { auth, emu } = await testBed();
    await auth.connect();
    emu.dropBrokerageSession();
    expect((await auth.fetch("/v1/api/iserver/accounts")).status).toBe(200);
  });
});
