import { assert, equal, match } from "../../support/assert";
import { decodeJwt, type WireEntry } from "../../support/wire";
import { type Case, CLIENT_ID, CREDENTIAL, EGRESS_IP, KEY_ID } from "../context";
import { TICKLE_GAP_MS } from "./shared";

const USER_AGENT = "ibauth-conformance/1";

export const wireFormatCases: Case[] = [
  {
    name: "wire format: client assertion claims, application/jwt bearer request, publish/compete, User-Agent, Content-Length",
    async run(ctx) {
      const auth = ctx.auth({ userAgent: USER_AGENT });
      await auth.connect();
      await ctx.advance(TICKLE_GAP_MS);
      await auth.tickle();
      await auth.logout();

      const token = only(ctx.wire.calls("/oauth2/api/v1/token"), "token request");
      equal(token.method, "POST", "token method");
      const form = new URLSearchParams(token.body);
      equal(form.get("grant_type"), "client_credentials", "grant_type");
      equal(
        form.get("client_assertion_type"),
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion_type",
      );
      equal(form.get("scope"), "sso-sessions.write", "scope");
      const assertion = decodeJwt(form.get("client_assertion") ?? "");
      equal(assertion.header.alg, "RS256", "assertion alg");
      equal(assertion.header.kid, KEY_ID, "assertion kid");
      equal(assertion.payload.iss, CLIENT_ID, "assertion iss");
      equal(assertion.payload.sub, CLIENT_ID, "assertion sub");
      equal(assertion.payload.aud, "/token", "assertion aud");
      checkWindow(assertion.payload, ctx.now(), 600, "assertion");
      assert(
        (assertion.payload.exp as number) - (assertion.payload.iat as number) <= 70,
        "assertion lifetime within ibind's 70 s (IBKR's samples: 30 s)",
      );

      const sso = only(ctx.wire.calls("/gw/api/v1/sso-sessions"), "sso-sessions request");
      equal(sso.method, "POST", "sso-sessions method");
      match(sso.headers["content-type"], /^application\/jwt\b/, "sso-sessions Content-Type");
      const accessToken = JSON.parse(token.responseBody ?? "{}").access_token;
      equal(sso.headers.authorization, `Bearer ${accessToken}`, "sso-sessions Authorization");
      const ssoJwt = decodeJwt(sso.body);
      equal(ssoJwt.header.alg, "RS256", "sso-sessions alg");
      equal(ssoJwt.header.kid, KEY_ID, "sso-sessions kid");
      equal(ssoJwt.payload.credential, CREDENTIAL, "credential claim");
      equal(ssoJwt.payload.ip, EGRESS_IP, "ip claim");
      equal(ssoJwt.payload.iss, CLIENT_ID, "sso-sessions iss");
      checkWindow(ssoJwt.payload, ctx.now(), 86_400, "sso-sessions JWT");
      equal(
        (ssoJwt.payload.exp as number) - (ssoJwt.payload.iat as number),
        86_400,
        "sso-sessions JWT exp - iat (IBKR's samples)",
      );

      const init = only(ctx.wire.calls("/v1/api/iserver/auth/ssodh/init"), "ssodh/init request");
      const flags = init.body ? JSON.parse(init.body) : Object.fromEntries(init.url.searchParams);
      assert(
        flags.publish === true || flags.publish === "true",
        `publish=true sent (got ${JSON.stringify(flags)})`,
      );
      assert(
        flags.compete === true || flags.compete === "true",
        `compete=true sent (got ${JSON.stringify(flags)})`,
      );

      // The emulator answers 403 to an empty User-Agent and 411 to a POST without Content-Length, as
      // IBKR's CDN does: every request succeeding is the proof "as seen by the server". fetch writes
      // Content-Length itself for any body but a stream.
      const sdkEntries = [...ctx.wire.entries];
      const bodyless = sdkEntries.filter((e) => e.method === "POST" && e.body === "");
      equal(
        bodyless.map((e) => e.url.pathname).join(" "),
        "/v1/api/tickle /v1/api/logout",
        "bodyless POSTs sent",
      );
      if (ctx.transport.setsUserAgent) await checkServerEnforces(ctx.wire.fetch, ctx.baseUrl);
      for (const entry of sdkEntries) {
        const what = `${entry.method} ${entry.url.pathname}`;
        assert(
          entry.status !== undefined && entry.status < 300,
          `${what} succeeded (got ${entry.status ?? entry.error})`,
        );
        if (entry.method === "POST")
          assert(!entry.streamBody, `${what} has a body fetch can measure (not a stream)`);
        // IBKR's Postman collection sends /tickle and /logout with no body and no Content-Type
        if (entry.method === "POST" && entry.body === "")
          equal(entry.headers["content-type"], undefined, `${what} without a body has no Content-Type`);
        // Browsers keep their own User-Agent whatever a page sets.
        if (ctx.transport.setsUserAgent) equal(entry.headers["user-agent"], USER_AGENT, `${what} User-Agent`);
      }
    },
  },
];

/** Guards the proof above: the server must refuse what the SDK is expected never to send. */
async function checkServerEnforces(send: typeof fetch, baseUrl: string): Promise<void> {
  const url = `${baseUrl}/oauth2/api/v1/token`;
  const noAgent = await send(url, { method: "POST", headers: { "user-agent": "" }, body: "grant_type=x" });
  equal(noAgent.status, 403, "server's answer to an empty User-Agent");
  const stream = new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode("grant_type=x"));
      controller.close();
    },
  });
  const noLength = await send(url, {
    method: "POST",
    headers: { "user-agent": USER_AGENT },
    body: stream,
    duplex: "half",
  } as RequestInit);
  equal(noLength.status, 411, "server's answer to a POST without Content-Length");
}

function only(entries: WireEntry[], what: string): WireEntry {
  equal(entries.length, 1, `${what}s`);
  return entries[0] as WireEntry;
}

/** iat/exp are 10-digit Unix seconds around now, with a window no longer than `maxSeconds`. */
function checkWindow(claims: Record<string, unknown>, nowMs: number, maxSeconds: number, what: string): void {
  const { iat, exp } = claims;
  assert(Number.isInteger(iat) && Number.isInteger(exp), `${what} iat/exp are integers (got ${iat}, ${exp})`);
  const nowS = nowMs / 1000;
  assert(String(iat).length === 10 && String(exp).length === 10, `${what} iat/exp are 10-digit seconds`);
  assert(
    (iat as number) <= nowS + 5 && (iat as number) >= nowS - 700,
    `${what} iat near now (iat ${iat}, now ${Math.round(nowS)})`,
  );
  assert((exp as number) > (iat as number), `${what} exp after iat`);
  assert(
    (exp as number) - (iat as number) <= maxSeconds,
    `${what} lifetime ≤ ${maxSeconds} s (got ${(exp as number) - (iat as number)})`,
  );
}
