// The soak's 24 virtual hours: a keepalive tick every 60 s (as the adapters schedule it), a burst of
// concurrent user calls every hour, and the injected events. The emulator's own daily reset (05:00 UTC,
// midnight in New York) falls 15 h after the start; the other events are armed here, and one pause of the
// keepalive (the host slept) lets the session idle out.
import type { Emulator } from "@ibauth/emulator";
import { START } from "../faults/harness";

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DURATION = 24 * HOUR;
export const BURST_SIZE = 50;
/** The emulator's daily reset: 05:00 UTC is midnight in New York (EST), IBKR's reset for US sessions. */
export const DAILY_RESET_HOUR_UTC = 5;
export const DAILY_RESET_AT = Date.UTC(2026, 10, 3, DAILY_RESET_HOUR_UTC);

export type EmulatorControl = Pick<Emulator, "setEgressIp" | "startCompetingSession">;

export type Moment =
  | { at: number; kind: "tick" }
  | { at: number; kind: "burst" }
  | { at: number; kind: "event"; name: string; apply: (emu: EmulatorControl) => void };

/**
 * Bursts fall half-way between ticks (a burst of 50 plus a tickle in one second would exceed IBKR's 50/s).
 * IP changes land 15 s before a burst, so 50 concurrent callers meet them first; the competing session
 * lands between ticks, so the keepalive meets it.
 */
export const EVENTS: Extract<Moment, { kind: "event" }>[] = [
  {
    at: START + 4 * HOUR + 30.25 * MINUTE,
    kind: "event",
    name: "egress IP changes to 198.51.100.20",
    apply: (e) => e.setEgressIp("198.51.100.20"),
  },
  {
    at: START + 8 * HOUR + 10.5 * MINUTE,
    kind: "event",
    name: "competing brokerage session (a TWS login)",
    apply: (e) => e.startCompetingSession(),
  },
  {
    at: START + 20 * HOUR + 30.25 * MINUTE,
    kind: "event",
    name: "egress IP changes to 192.0.2.30",
    apply: (e) => e.setEgressIp("192.0.2.30"),
  },
];

/** The emulator's idle timeout (its default, IBKR's ~6 min). */
export const IDLE_TIMEOUT_MS = 6 * MINUTE;

/** No tick in (from, to): the keepalive's host slept, longer than the idle timeout, between two bursts. */
export const KEEPALIVE_PAUSES = [
  {
    from: START + 11 * HOUR,
    to: START + 11 * HOUR + 10 * MINUTE,
    name: "keepalive paused 10 min (idle timeout)",
  },
];

export function timeline(): Moment[] {
  const moments: Moment[] = [...EVENTS];
  const paused = (t: number) => KEEPALIVE_PAUSES.some((p) => p.from < t && t < p.to);
  for (let t = START + MINUTE; t <= START + DURATION; t += MINUTE)
    if (!paused(t)) moments.push({ at: t, kind: "tick" });
  for (let t = START + 30.5 * MINUTE; t < START + DURATION; t += HOUR) moments.push({ at: t, kind: "burst" });
  return moments.sort((a, b) => a.at - b.at);
}

export interface LstDue {
  /** The request moment after a reset or idle timeout; for "expiry", the LST's expiry less the margin. */
  at: number;
  why: "first login" | "daily reset" | "idle timeout" | "expiry";
}

/**
 * When an OAuth 1.0a client (its session is not bound to the IP) must compute its next live session token,
 * given the moment it sent the request for the last one (IBKR states its expiry as about that +
 * `lifetimeMs`): at the first request after the daily reset or an idle timeout (the session is gone),
 * otherwise in the LST's last `marginMs`: before IBKR would refuse it. Undefined when the day ends first.
 */
export function nextLst(previous: number, lifetimeMs: number, marginMs: number): LstDue | undefined {
  const due = previous + lifetimeMs - marginMs;
  let last = previous;
  for (const m of timeline()) {
    if (m.kind === "event" || m.at <= previous) continue;
    if (previous < DAILY_RESET_AT && m.at >= DAILY_RESET_AT) return { at: m.at, why: "daily reset" };
    if (m.at - last >= IDLE_TIMEOUT_MS) return { at: m.at, why: "idle timeout" };
    if (m.at >= due) return { at: due, why: "expiry" };
    last = m.at;
  }
  return undefined;
}
