// Cold logins in a process of their own (so NODE_EXTRA_CA_CERTS can trust a throwaway CA for the TLS
// runs): reads {url, clientId, privateKeyPem, credentials} as JSON on stdin, logs each credential in
// once, prints {ms, requests, roundTrips, cpuMs, betweenMs, insideMs} (median wall ms and mean CPU ms of
// all but the first login, which compiles code paths; requests and round trips of the last one).
// Per login, between + inside = the login's wall time (the medians add up only roughly): along the critical path (the chain of requests each sent after the previous
// one answered, ending with the last answer), insideMs is the time requests were out (latency, the
// emulator's own work, loopback, HTTP on both ends) and betweenMs the rest, the SDK's own time on the path.
import { pathToFileURL } from "node:url";
import { resolveWorkspacePackage } from "../faults/workspace-packages.mjs";

const { IBAuth } = await import(pathToFileURL(resolveWorkspacePackage("@ibauth/core")).href);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const { url, clientId, privateKeyPem, credentials } = JSON.parse(input);

/** The longest chain of requests where each starts after the previous one answered. */
function sequentialRoundTrips(spans) {
  const depth = spans.map(() => 0);
  const order = [...spans.keys()].sort((a, b) => spans[a].start - spans[b].start);
  for (const i of order) {
    const before = order.filter((j) => spans[j].end <= spans[i].start).map((j) => depth[j]);
    depth[i] = 1 + Math.max(0, ...before);
  }
  return Math.max(0, ...depth);
}

/** The chain of requests that ends with the last answer, each the latest to answer before the next was sent. */
function criticalChain(spans) {
  const chain = [];
  let cur = spans.reduce((a, b) => (b.end > a.end ? b : a));
  while (cur) {
    chain.push(cur);
    const start = cur.start;
    cur = spans.filter((x) => x.end <= start).reduce((a, b) => (a && a.end >= b.end ? a : b), undefined);
  }
  return chain;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const times = [];
const inside = [];
const between = [];
let cpu = 0;
let requests = 0;
let roundTrips = 0;
for (const [i, credential] of credentials.entries()) {
  const spans = [];
  const timed = async (input, init) => {
    const span = { start: performance.now(), end: Number.POSITIVE_INFINITY };
    spans.push(span);
    const res = await fetch(input, init);
    span.end = performance.now();
    return res;
  };
  const auth = new IBAuth({
    clientId,
    clientKeyId: "main",
    credential,
    privateKey: privateKeyPem,
    baseUrl: url,
    ipLookupUrl: `${url}/__emulator/ip`,
    fetch: timed,
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await auth.connect();
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  if (i === 0) continue;
  times.push(ms);
  const out = criticalChain(spans).reduce((sum, x) => sum + x.end - x.start, 0);
  inside.push(out);
  between.push(ms - out);
  cpu += (used.user + used.system) / 1000;
  requests = spans.length;
  roundTrips = sequentialRoundTrips(spans);
}
const summary = {
  ms: median(times),
  requests,
  roundTrips,
  cpuMs: cpu / times.length,
  betweenMs: median(between),
  insideMs: median(inside),
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
