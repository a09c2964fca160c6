import { originOf, type ResolvedConfig } from "./config";
import { IbauthError } from "./errors";
import type { SessionProblem } from "./heal";
import { send } from "./http";
import { errorFromResponse, isRedirect } from "./http-errors";
import type { Mechanism, SessionKey } from "./mechanism";
import { isNoBridgeAnswer } from "./no-bridge";
import type { SessionState } from "./session";

/** IBKR advises waiting 1 s, 3 s or "3-5 s" after ssodh/init before /iserver calls (protocol notes §3.4). */
const BRIDGE_SETTLE_MS = 3000;

/** One authenticated request's answer; `epoch` is that of the session key it carried, for the heal's bookkeeping. */
export interface Sent {
  res: Response;
  epoch: number;
  problem?: SessionProblem;
}

const isLoginRedirect = (res: Response) =>
  res.type === "opaqueredirect" || /\/sso\/login/i.test(res.headers.get("location") ?? "");

/**
 * URLs already checked, by origin and path: parsing one cost more than the rest of auth.fetch's own work
 * (about 40 µs in Node), and callers repeat their paths. Bounded, so ever-changing queries cannot grow it.
 */
const checked = new Map<string, string>();
const CHECKED_MAX = 512;

/** Paths are appended to the origin (keeping a relay's path prefix); the Authorization never goes to another origin. */
export function urlFor(cfg: ResolvedConfig, path: string): string {
  const origin = originOf(cfg);
  // an origin has no space, so the key names one origin and one path
  const key = `${origin} ${path}`;
  const known = checked.get(key);
  if (known !== undefined) return known;
  const raw = path.startsWith("/") && !path.startsWith("//") ? origin + path : path;
  let href: string;
  try {
    href = new URL(raw).href;
  } catch {
    href = "";
  }
  if (!href.startsWith(`${origin}/`)) {
    throw new IbauthError(
      "auth.fetch only calls the configured IBKR origin; pass a path such as /v1/api/portfolio/accounts",
      {
        code: "ERR_CONFIG",
        step: "request",
        field: "path",
      },
    );
  }
  if (checked.size >= CHECKED_MAX) checked.clear();
  checked.set(key, href);
  return href;
}

/**
 * Sends; a "no bridge" within BRIDGE_SETTLE_MS of ssodh/init means "not yet" (IBKR needs 1-5 s before
 * /iserver answers), so it waits until BRIDGE_SETTLE_MS after the init and tries once more, instead of
 * re-opening the session and restarting the wait.
 */
export async function sendSettled(
  s: SessionState,
  mech: Mechanism,
  url: string,
  init: RequestInit,
): Promise<Sent> {
  let sent = await sendOnce(s, mech, url, init);
  let problem = await problemOf(sent.res);
  const initAt = s.brokerageInitAt;
  if (problem === "no-bridge" && initAt !== undefined && s.cfg.now() - initAt < BRIDGE_SETTLE_MS) {
    await s.cfg.sleep(initAt + BRIDGE_SETTLE_MS - s.cfg.now());
    sent = await sendOnce(s, mech, url, init);
    problem = await problemOf(sent.res);
  }
  return problem ? { ...sent, problem } : sent;
}

/** One authenticated request. */
async function sendOnce(s: SessionState, mech: Mechanism, url: string, init: RequestInit): Promise<Sent> {
  let epoch = s.epoch;
  // The session key is chosen when the request leaves the pacing queue, which a heal holds: so it is the healed one.
  const method = (init.method ?? "GET").toUpperCase();
  const beforeSend = async (headers: Headers) => {
    epoch = s.epoch;
    headers.set("Authorization", await mech.authorize(s.key as SessionKey, method, url));
  };
  let res: Response;
  try {
    res = await send(s.http, {
      step: "request",
      method,
      url,
      headers: init.headers,
      body: init.body,
      signal: init.signal ?? undefined,
      beforeSend,
    });
  } catch (e) {
    throw s.fail(e);
  }
  if (res.status === 429) {
    const text = await res.text().catch(() => "");
    await s.pacing.flushed();
    throw s.fail(errorFromResponse("request", res, text, s.http));
  }
  return { res, epoch };
}

/** Reads the body only of 400s (to spot "no bridge"), from a clone: the caller's Response stays unread. */
async function problemOf(res: Response): Promise<SessionProblem | undefined> {
  // IBKR's gateway sends a session it refuses to /sso/Login: a 401 by another name
  if (res.status === 401 || (isRedirect(res) && isLoginRedirect(res))) return "unauthorized";
  if (res.status !== 400) return undefined;
  const text = await res
    .clone()
    .text()
    .catch(() => "");
  return isNoBridgeAnswer(400, text) ? "no-bridge" : undefined;
}
