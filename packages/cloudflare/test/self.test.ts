import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

// The example module as the runtime dispatches to it, with only the KV binding configured: an operator's
// first deploy before `wrangler secret put`.
describe("the example Worker through SELF, before its secrets are set", () => {
  it("answers /health with 503 naming each missing setting, and no crash", async () => {
    const res = await SELF.fetch("https://ibauth-worker.example/health");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { state: string; config: { problems: { setting: string }[] } };
    expect(body.state).toBe("misconfigured");
    expect(body.config.problems.map((p) => p.setting).sort()).toEqual([
      "IBAUTH_API_KEY",
      "IBAUTH_SESSION_KEY",
      "IBKR_CLIENT_ID",
      "IBKR_CLIENT_KEY_ID",
      "IBKR_CREDENTIAL",
      "IBKR_PRIVATE_KEY",
    ]);
  });

  it("refuses to proxy until configured", async () => {
    const res = await SELF.fetch("https://ibauth-worker.example/v1/api/portfolio/accounts", {
      headers: { authorization: "Bearer anything-at-all-anything-at-all" },
    });
    expect(res.status).toBe(503);
  });
});
