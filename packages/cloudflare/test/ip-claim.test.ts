import { describe, expect, it } from "vitest";
import { harness } from "./support";

describe("the ip claim options", () => {
  it("IBKR_ALTERNATIVE_IPS covers an egress IP that IBKR_IP does not", async () => {
    const h = await harness({
      env: { IBKR_IP: "198.51.100.77", IBKR_ALTERNATIVE_IPS: "192.0.2.5, 203.0.113.10" },
    });
    await h.tick();
    const { status, body } = await h.health();
    expect(status).toBe(200);
    expect(body.session.ip).toBe("198.51.100.77");
    expect((await h.api("/v1/api/portfolio/accounts")).status).toBe(200);
  });

  it("a fixed-IP relay through the fetch option: IBKR sees the relay's address, which IBKR_IP claims", async () => {
    const relayIp = "198.51.100.50";
    const h = await harness({ env: { IBKR_IP: relayIp } });
    // What a relay does, seen from the emulator: the request arrives from the relay's static IP.
    const relay: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set("x-emulator-client-ip", relayIp);
      return h.emu.fetch(input, { ...init, headers });
    };
    const viaRelay = h.another({ fetch: relay });
    await h.tick(viaRelay);
    expect((await h.health()).status).toBe(200);
    expect((await h.api("/v1/api/iserver/accounts", {}, viaRelay)).status).toBe(200);
    expect(h.emu.requests.every((r) => r.ip === relayIp)).toBe(true);
    // the same session used without the relay is refused: the claim binds it to the relay's IP
    expect((await h.api("/v1/api/iserver/accounts", {}, h.another())).status).toBe(401);
  });
});
