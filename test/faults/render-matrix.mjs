// Renders fault-matrix results (as the test run recorded them) into markdown tables: step x fault.

/** @param {{step:string,fault:string,mode:string,outcome:string,hits:number,problems:string[]}[]} results */
export function renderMatrix(results, mode) {
  const rows = results.filter((r) => r.mode === mode);
  const steps = [...new Set(rows.map((r) => r.step))];
  const faults = [...new Set(rows.map((r) => r.fault))];
  const cell = (step, fault) => {
    const r = rows.find((x) => x.step === step && x.fault === fault);
    if (!r) return "";
    return `${r.outcome}${r.problems.length ? " ❌" : ""}`;
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
  return bad.map((r) => `- **${r.step} × ${r.fault} (${r.mode})**: ${r.problems.join("; ")}`).join("\n");
}

export function renderReport(results, meta) {
  return [
    "# Fault matrix",
    "",
    "Produced by `node test/faults/print-matrix.mjs` from an actual run of the vitest project `faults`",
    `(${meta.date}, ${results.length} cells). Each cell: the SDK against the emulator over HTTP on 127.0.0.1,`,
    "virtual clock shared by both, the fault injected with `emu.failNext` on the step's endpoint.",
    "`recovered` = the public call succeeded; `ERR_xxx` = it threw an IbauthError with that code naming the step;",
    "`returned HTTP nnn` = `auth.fetch` handed IBKR's answer to the caller; ❌ = a check failed (listed below).",
    "",
    `Calls: token/ip/bearer/init = \`connect()\`, validate = \`validateSso()\`, tickle = \`tick()\`, logout = \`logout()\`,`,
    'request = `auth.fetch("/v1/api/iserver/accounts")`. SDK options: `timeoutMs: 400`, `retry: { attempts: 3, baseDelayMs: 500 }`.',
    "",
    "## Fault once (the next request succeeds)",
    "",
    renderMatrix(results, "once"),
    "",
    "## Fault persists (every request to the endpoint refused)",
    "",
    renderMatrix(results, "persistent"),
    "",
    "## Checks that failed",
    "",
    renderProblems(results),
    "",
  ].join("\n");
}
