// Cold logins in a process of their own (so NODE_EXTRA_CA_CERTS can trust a throwaway CA for the TLS
// runs): reads {url, clientId, privateKeyPem, credentials} as JSON on stdin, logs each credential in
// once, prints {ms, requests, roundTrips, cpuMs} (median wall ms and mean CPU ms of all but the first
// login, which compiles code paths; requests and round trips of the last one).
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

const times = [];
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
  cpu += (used.user + used.system) / 1000;
  requests = spans.length;
  roundTrips = sequentialRoundTrips(spans);
}
times.sort((a, b) => a - b);
const mid = times.length >> 1;
const ms = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
process.stdout.write(`${JSON.stringify({ ms, requests, roundTrips, cpuMs: cpu / times.length })}\n`);
