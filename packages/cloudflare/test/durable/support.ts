import {
  createExecutionContext,
  createScheduledController,
  env,
  runDurableObjectAlarm,
  runInDurableObject,
} from "cloudflare:test";
import type { IbauthDurableEnv } from "@ibauth/cloudflare";
import { apiKeyOf, GONE, ipOf, OPERATOR_KEY } from "./users";
import worker from "./worker";
import { world } from "./world";

export const bindings = env as unknown as IbauthDurableEnv & {
  TEST_EMULATOR_URL: string;
  TEST_LAB_URL: string;
};
const namespace = env.IBAUTH_SESSION;

export interface LoggedRequest {
  at: number;
  method: string;
  path: string;
  status: number;
  ip: string;
}

/** Labels no earlier test used (in any file): fresh objects, and caller IPs of their own at the emulator. */
export async function freshLabels(count: number): Promise<string[]> {
  const res = await fetch(`${bindings.TEST_LAB_URL}/labels?count=${count}`);
  const body = (await res.json()) as string[] | string;
  if (!res.ok || typeof body === "string") throw new Error(String(body));
  return body;
}

export type Handler = Pick<typeof worker, "fetch" | "scheduled">;

/** The emulator's controls over HTTP (POST /__emulator/control). */
export async function control(action: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const res = await fetch(`${bindings.TEST_EMULATOR_URL}/__emulator/control`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ action, ...args }),
  });
  if (!res.ok) throw new Error(`emulator control ${action}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Moves the emulator's clock and the objects' clock together. */
export async function advance(ms: number): Promise<void> {
  await control("advance", { ms });
  world.offsetMs += ms;
}

export async function requestsOf(label: string): Promise<LoggedRequest[]> {
  const all = (await (await fetch(`${bindings.TEST_LAB_URL}/requests`)).json()) as LoggedRequest[];
  return all.filter((r) => r.ip === ipOf(label));
}

/** Requests the emulator got from this user, by "METHOD /path". */
export async function countsOf(label: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of await requestsOf(label))
    out[`${r.method} ${r.path}`] = (out[`${r.method} ${r.path}`] ?? 0) + 1;
  return out;
}

export interface DurableHarness {
  env: IbauthDurableEnv;
  /** A request to the Worker with the user's API key. */
  call(label: string, path: string, init?: RequestInit, via?: Handler): Promise<Response>;
  operator(path: string, init?: RequestInit): Promise<Response>;
  anonymous(path: string, init?: RequestInit): Promise<Response>;
  stub(label: string): DurableObjectStub;
  /** Runs the user's alarm now, as the runtime does when it is due. False when none was set. */
  alarm(label: string): Promise<boolean>;
  /** ms until the user's alarm (runtime clock), or null. */
  alarmIn(label: string): Promise<number | null>;
  cron(): Promise<void>;
  storage(label: string): Promise<Map<string, unknown>>;
}

/**
 * A Worker configured for `labels` (IBAUTH_USERS). The objects' clock is set to the emulator's, which
 * earlier test files may have advanced (each file has its own module instances, the emulator is one).
 */
export async function durableHarness(
  labels: string[],
  extraEnv: Record<string, unknown> = {},
): Promise<DurableHarness> {
  const { now } = (await control("state")) as { now: number };
  world.offsetMs = now - Date.now();
  const testEnv = { ...bindings, IBAUTH_USERS: labels.join(","), ...extraEnv } as IbauthDurableEnv;
  const send = (path: string, init: RequestInit, key: string | null, via: Handler = worker) => {
    const headers = new Headers(init.headers);
    if (key !== null) headers.set("authorization", `Bearer ${key}`);
    return via.fetch(
      new Request(`https://ibauth-worker.example${path}`, { ...init, headers }),
      testEnv,
      createExecutionContext(),
    );
  };
  const stub = (label: string) => namespace.get(namespace.idFromName(label));
  return {
    env: testEnv,
    call: (label, path, init = {}, via) =>
      send(path, init, label === GONE.label ? GONE.apiKey : apiKeyOf(label), via),
    operator: (path, init = {}) => send(path, init, OPERATOR_KEY),
    anonymous: (path, init = {}) => send(path, init, null),
    stub,
    alarm: (label) => runDurableObjectAlarm(stub(label)),
    alarmIn: (label) =>
      runInDurableObject(stub(label), async (_, state) => {
        const at = await state.storage.getAlarm();
        return at === null ? null : at - Date.now();
      }),
    cron: () =>
      worker.scheduled(
        createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }),
        testEnv,
        createExecutionContext(),
      ),
    storage: (label) => runInDurableObject(stub(label), (_, state) => state.storage.list()),
  };
}

/** The largest number of requests that arrived in any rolling 1,000 ms window. */
export function maxPerSecond(requests: LoggedRequest[]): number {
  const times = requests.map((r) => r.at).sort((a, b) => a - b);
  let max = 0;
  let start = 0;
  for (let end = 0; end < times.length; end++) {
    while ((times[end] as number) - (times[start] as number) >= 1000) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}
