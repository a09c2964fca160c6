// Renders fault-matrix results (as the test run recorded them) into markdown tables: step x fault, one
// table per login and fault mode.

const LOGIN_NAMES = { oauth2: "OAuth 2.0", oauth1: "OAuth 1.0a" };

/** @param {{login:string,step:string,fault:string,mode:string,outcome:string,hits:number,problems:string[]}[]} results */
export function renderMatrix(results, mode, login) {
  const rows = results.filter((r) => r.mode === mode && r.login === login);
  const steps = [...new Set(rows.map((r) => r.step))];
  const faults = [...new Set(rows.map((r) => r.fault))];
  const cell = (step, fault) => {
    const r = rows.find((x) => x.step === step && x.fault === fault);
    if (!r) return "·";
    return `${r.outcome} (${r.hits})${r.problems.length ? " ❌" : ""}`;
  };
  const lines = [
    `| step \\ fault | ${faults.join(" | ")} |`,
    `|---|${faults.map(() => "---").join("|")}|`,
    ...steps.map((s) => `| ${s} | ${faults.map((f) => cell(s, f)).join(" | ")} |`),
  ];
  return lines.join("\n");
}

export function renderProblems(results) {
  const bad = results.filter((r) => r.problems.length);
  if (!bad.length)
    return "No problems: every cell recovered or failed with a fitting IbauthError naming its step, within the pacing rules.";
  return bad
    .map((r) => `- **${LOGIN_NAMES[r.login]}, ${r.step} × ${r.fault} (${r.mode})**: ${r.problems.join("; ")}`)
    .join("\n");
}

/** @param {{date:string, timeoutMs:number, hangTimeoutMs:number, retry:{attempts:number, baseDelayMs:number}, retryAfterS:number}} meta */
export function renderReport(results, meta) {
  const tables = Object.entries(LOGIN_NAMES).flatMap(([login, name]) => [
    `## ${name}, fault once (the next request succeeds)`,
    "",
    renderMatrix(results, "once", login),
    "",
    `## ${name}, fault persists (every request to the endpoint refused)`,
    "",
    renderMatrix(results, "persistent", login),
    "",
  ]);
  return [
    "# Fault matrix",
    "",
    "Produced by `node test/faults/print-matrix.mjs` from an actual run of the vitest project `faults`",
    `(${meta.date}, ${results.length} cells). Each cell: the SDK against the emulator over HTTP on 127.0.0.1,`,
    "virtual clock shared by both, the fault injected with `emu.failNext` on the step's endpoint.",
    "`recovered` = the public call succeeded; `ERR_xxx` = it threw an IbauthError with that code naming the step;",
    "`returned HTTP nnn` = `auth.fetch` handed IBKR's answer to the caller; (n) = requests the SDK sent to the",
    "refusing endpoint; ❌ = a check failed (listed below); · = does not apply. Every cell also checks: no hang",
    "(10 s watchdog), no 429 provoked by the SDK itself, no request before Retry-After (or, for IBKR without one,",
    `the retry delay), at most ${meta.retry.attempts + 1} requests to the refusing endpoint, and (fault once) that the next \`auth.fetch\` succeeds.`,
    "",
    "Both logins: OAuth 2.0 (token, ip, bearer, then the brokerage session) and OAuth 1.0a (lst = the live",
    "session token by Diffie-Hellman, then the same brokerage session, every request signed HMAC-SHA256).",
    "The steps after the login and every transport or HTTP fault run under both. OAuth 1.0a's own faults:",
    "`expired LST` = `emu.expireLst()` (IBKR answers 401 to requests signed with it); `replayed nonce` = a copy",
    "of the SDK's next request reaches IBKR first (a retrying proxy), so IBKR refuses the SDK's own as a nonce",
    "seen before, and the error or answer must say so (at `request` the SDK hands that 401 back instead of",
    "replaying: IBKR did serve the copy, and replaying a POST such as an order would send it twice);",
    "`wrong signature key` = the SDK signs the LST request with a key IBKR does not have: ERR_AUTH at lst,",
    "one request, with a hint naming signatureKey. Every OAuth 1.0a cell also checks that the SDK never",
    "sent an `oauth_nonce` twice (retries included). Under OAuth 1.0a the timeout column runs at lst only: a hung",
    "request costs real seconds, and after the login a timeout takes the same code path under both logins.",
    "",
    `Calls: token/ip/bearer/lst/init = \`connect()\`, validate = \`validateSso()\`, tickle = \`tick()\`, logout = \`logout()\`,`,
    'request = `auth.fetch("/v1/api/iserver/accounts")`.',
    `SDK options: \`timeoutMs: ${meta.timeoutMs}\` (${meta.hangTimeoutMs} in the timeout column), \`retry: { attempts: ${meta.retry.attempts}, baseDelayMs: ${meta.retry.baseDelayMs} }\`;`,
    `injected Retry-After: ${meta.retryAfterS} s.`,
    "",
    "For `request`, `returned HTTP nnn` is IBKR's answer handed to the caller. The checks allow it for a 401 only",
    "after the SDK probed the session with a tickle (IBKR also answers 401 on some endpoints of a live session),",
    'and never for a single "no bridge", which must be healed by ssodh/init and the call replayed.',
    "",
    ...tables,
    "## Checks that failed",
    "",
    renderProblems(results),
    "",
  ].join("\n");
}
