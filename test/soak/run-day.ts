// Plays the timeline against one or two SDK instances: `keepalive` gets the ticks (as an adapter's timer
// or cron does), `caller` the bursts of user calls (the same instance, or another process sharing the store).
import { type IBAuth, isIbauthError } from "@ibauth/core";
import type { Emulator } from "@ibauth/emulator";
import type { VirtualClock } from "../faults/harness";
import { BURST_SIZE, timeline } from "./timeline";

export const DATA = "/v1/api/iserver/accounts";

/** "11-02 18:30:15" (UTC) */
export const stamp = (t: number) => new Date(t).toISOString().slice(5, 19).replace("T", " ");

function failure(e: unknown): string {
  return isIbauthError(e) ? `${e.code}@${e.step}: ${e.message}` : String(e);
}

export interface DayResult {
  userCalls: number;
  userFailures: string[];
  tickFailures: string[];
  /** TickOutcome.action -> how many ticks ended that way. */
  actions: Record<string, number>;
}

export async function runDay(
  clock: VirtualClock,
  emu: Emulator,
  keepalive: IBAuth,
  caller: IBAuth,
): Promise<DayResult> {
  const day: DayResult = { userCalls: 0, userFailures: [], tickFailures: [], actions: {} };
  for (const m of timeline()) {
    clock.t = Math.max(clock.t, m.at); // an SDK back-off may already have moved time past this moment
    if (m.kind === "event") m.apply(emu);
    else if (m.kind === "tick") {
      try {
        const outcome = await keepalive.tick();
        day.actions[outcome.action] = (day.actions[outcome.action] ?? 0) + 1;
      } catch (e) {
        day.tickFailures.push(`${stamp(clock.t)} ${failure(e)}`);
      }
    } else {
      const calls = Array.from({ length: BURST_SIZE }, () => caller.fetch(DATA));
      day.userCalls += calls.length;
      for (const r of await Promise.allSettled(calls)) {
        if (r.status === "rejected") day.userFailures.push(`${stamp(clock.t)} ${failure(r.reason)}`);
        else if (!r.value.ok) day.userFailures.push(`${stamp(clock.t)} HTTP ${r.value.status}`);
        else await r.value.arrayBuffer();
      }
    }
  }
  return day;
}
