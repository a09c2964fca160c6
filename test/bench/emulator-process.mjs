// An emulator in its own process, so the benchmark process's CPU and heap figures hold only the SDK.
// Reads its options as JSON from argv[2] (`tlsFiles: {key, cert}` paths serve HTTPS), prints
// {"url": ...} once listening, exits when stdin closes.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { resolveWorkspacePackage } from "../faults/workspace-packages.mjs";

const { startEmulator } = await import(pathToFileURL(resolveWorkspacePackage("@ibauth/emulator")).href);
const { tlsFiles, ...options } = JSON.parse(process.argv[2] ?? "{}");
const tls = tlsFiles && {
  key: readFileSync(tlsFiles.key, "utf8"),
  cert: readFileSync(tlsFiles.cert, "utf8"),
};
const srv = await startEmulator({ port: 0, host: "127.0.0.1", ...options, ...(tls ? { tls } : {}) });
process.stdout.write(`${JSON.stringify({ url: srv.url })}\n`);
process.stdin.resume();
process.stdin.on("end", () => srv.close().then(() => process.exit(0)));
