import { describe, expect, it } from "vitest";
import { proxyTarget, rawPathAndQuery } from "../src/target";

// The raw-string level, below any URL parser: what an HTTP request line could carry verbatim.
const origin = "https://api.ibkr.com";

describe("proxyTarget", () => {
  it("keeps a normal path and query on the configured origin", () => {
    expect(proxyTarget(origin, "/v1/api/iserver/marketdata/snapshot?conids=265598,8314&fields=31")).toEqual({
      ok: true,
      url: "https://api.ibkr.com/v1/api/iserver/marketdata/snapshot?conids=265598,8314&fields=31",
      path: "/v1/api/iserver/marketdata/snapshot",
    });
    expect(proxyTarget(origin, "/v1/api/portfolio/accounts/").ok).toBe(true);
  });

  const refused = [
    "/v1/api/../x",
    "/v1/api/a/../../x",
    "/v1/api/.",
    "/v1/api/%2e%2e/x",
    "/v1/api/.%2e/x",
    "/v1/api/a%2fb",
    "/v1/api/a%5Cb",
    "/v1/api/a%25%32%65",
    "/v1/api/a\\b",
    "/v1/api//a",
    "//evil.example/v1/api/a",
    "/v1/api/a b",
    "/v1/api/a%zz",
    "/v1/api/a%0a",
    "/v1/api/a#frag",
    "/v1/api/a?x=1#frag",
    "http://evil.example/v1/api/a",
    "/v1/api",
    "/v1/api/",
    "",
  ];
  for (const raw of refused) {
    it(`refuses ${JSON.stringify(raw)}`, () => {
      expect(proxyTarget(origin, raw).ok).toBe(false);
    });
  }

  it("keeps a relay's path prefix in the URL, not in the caller's path", () => {
    expect(proxyTarget("https://relay.example/ibkr", "/v1/api/tickle?x=1")).toEqual({
      ok: true,
      url: "https://relay.example/ibkr/v1/api/tickle?x=1",
      path: "/v1/api/tickle",
    });
    expect(proxyTarget("https://relay.example/ibkr", "/v1/api/../../x").ok).toBe(false);
  });

  it("reads path and query from a URL string without normalising them", () => {
    expect(rawPathAndQuery("https://w.example/v1/api/../x?q=%2e")).toBe("/v1/api/../x?q=%2e");
    expect(rawPathAndQuery("https://w.example?x")).toBe("/?x");
  });
});
