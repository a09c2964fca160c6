// One async control surface over the emulator, whether it lives in this runtime (the object from
// createEmulator/startEmulator) or in another process (its HTTP control endpoint, e.g. for a page).
import { createEmulator, type EmulatorOauth1Consumer } from "@ibauth/emulator";

export interface FailSpec {
  path: string;
  method?: string;
  count?: number;
  status?: number;
  body?: string;
  headers?: Record<string, string>;
  delayMs?: number;
  kind?: "status" | "reset" | "html" | "invalid-json" | "hang";
}

export interface EmulatorHandle {
  failNext(spec: FailSpec): Promise<void>;
  expireAccessTokens(): Promise<void>;
  expireBearers(): Promise<void>;
  /** OAuth 1.0a: every live session token issued so far expires now. */
  expireLst(): Promise<void>;
  dropBrokerageSession(): Promise<void>;
  startCompetingSession(): Promise<void>;
  setEgressIp(ip: string): Promise<void>;
  advance(ms: number): Promise<void>;
  triggerDailyReset(): Promise<void>;
  /** Requests served, keyed "METHOD /path". */
  counts(): Promise<Record<string, number>>;
  /** Protocol violations the emulator recorded (e.g. Content-Type on a bodyless POST). */
  violations(): Promise<string[]>;
}

/** What the suite needs to create an emulator; JSON-serialisable so a page can ask a server for one. */
export interface EmulatorSetup {
  clients: { clientId: string; keys: Record<string, string>; credentials: string[] }[];
  egressIp: string;
  /** Delay the emulator adds to every answer, like a network round trip. */
  latencyMs?: number;
  /** OAuth 1.0a consumers, for the cases that log in that way. */
  oauth1Consumers?: EmulatorOauth1Consumer[];
}

export interface OpenEmulator {
  emu: EmulatorHandle;
  /** The SDK's baseUrl. */
  baseUrl: string;
  /** The transport the SDK uses to reach it. */
  fetch: typeof fetch;
  close(): Promise<void>;
}

/** How a runner reaches a fresh emulator. */
export interface Transport {
  name: string;
  /** False where the runtime's fetch will not send a caller-set User-Agent (browsers). */
  setsUserAgent: boolean;
  open(setup: EmulatorSetup): Promise<OpenEmulator>;
}

type LocalEmulator = ReturnType<typeof createEmulator>;

export function localHandle(emulator: LocalEmulator): EmulatorHandle {
  return {
    failNext: async (spec) => void emulator.failNext(spec),
    expireAccessTokens: async () => void emulator.expireAccessTokens(),
    expireBearers: async () => void emulator.expireBearers(),
    expireLst: async () => void emulator.expireLst(),
    dropBrokerageSession: async () => void emulator.dropBrokerageSession(),
    startCompetingSession: async () => void emulator.startCompetingSession(),
    setEgressIp: async (ip) => void emulator.setEgressIp(ip),
    advance: async (ms) => void emulator.advance(ms),
    triggerDailyReset: async () => void emulator.triggerDailyReset(),
    counts: async () => ({ ...emulator.counts() }),
    violations: async () => emulator.state().violations,
  };
}

/** Drives an emulator in another process through POST /__emulator/control. */
export function remoteHandle(baseUrl: string, transport: typeof fetch = fetch): EmulatorHandle {
  const control = async (action: string, args: Record<string, unknown> = {}): Promise<unknown> => {
    const res = await transport(`${baseUrl}/__emulator/control`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action, ...args }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`emulator control ${action}: HTTP ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    failNext: async (spec) => void (await control("failNext", { ...spec })),
    expireAccessTokens: async () => void (await control("expireAccessTokens")),
    expireBearers: async () => void (await control("expireBearers")),
    expireLst: async () => void (await control("expireLst")),
    dropBrokerageSession: async () => void (await control("dropBrokerageSession")),
    startCompetingSession: async () => void (await control("startCompetingSession")),
    setEgressIp: async (ip) => void (await control("setEgressIp", { ip })),
    advance: async (ms) => void (await control("advance", { ms })),
    triggerDailyReset: async () => void (await control("triggerDailyReset")),
    counts: async () => (await control("counts")) as Record<string, number>,
    violations: async () => {
      const res = await transport(`${baseUrl}/__emulator/state`);
      if (!res.ok) throw new Error(`emulator state: HTTP ${res.status}`);
      return ((await res.json()) as { violations: string[] }).violations;
    },
  };
}

/** The emulator's fetch handler, in this runtime: no sockets at all. */
export const inProcessTransport: Transport = {
  name: "in-process",
  setsUserAgent: true,
  async open(setup) {
    const emulator = createEmulator(setup);
    return {
      emu: localHandle(emulator),
      baseUrl: "http://127.0.0.1:1",
      fetch: emulator.fetch as typeof fetch,
      close: async () => {},
    };
  },
};
