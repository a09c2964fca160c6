import type { DurableWorkerOptions } from "@ibauth/cloudflare";
import { consoleLogger } from "@ibauth/core";

/**
 * What the test Worker's objects share with the tests (plain values only: workerd forbids sharing I/O
 * objects between Durable Objects): the clock offset the tests advance together with the emulator's,
 * and the log lines.
 */
export const world = { offsetMs: 0, logs: [] as string[] };

const USER_PATH = /^\/u(\d+)(\/.*)$/;

/**
 * IBKR as the objects reach it: `<emulator>/u<N>/…` is user N's site (like a fixed-IP relay per user),
 * so the emulator sees each user's requests from its own caller IP, as IBKR would see separate sites.
 */
export const options: DurableWorkerOptions = {
  fetch: (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const match = USER_PATH.exec(url.pathname);
    if (!match) return fetch(request);
    const headers = new Headers(request.headers);
    headers.set("x-emulator-client-ip", `198.51.100.${Number(match[1]) || 100}`);
    return fetch(
      new Request(url.origin + match[2] + url.search, {
        ...init,
        method: request.method,
        headers,
        body: request.body,
      }),
    );
  },
  now: () => Date.now() + world.offsetMs,
  logger: consoleLogger({
    level: "debug",
    json: true,
    write: (line) => world.logs.push(line),
    now: () => Date.now() + world.offsetMs,
  }),
  // a hung IBKR (the "hang" fault) times out in 3 s instead of 15
  auth: { retry: { attempts: 2, baseDelayMs: 10 }, timeoutMs: 3000 },
};
