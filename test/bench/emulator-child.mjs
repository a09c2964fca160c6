// Starts emulator-process.mjs: the emulator in its own process, so a benchmark's CPU and heap figures
// hold only the SDK.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { root } from "../faults/workspace-packages.mjs";

/** The emulator in a child process; resolves to { url, stop }. */
export function emulatorProcess(options) {
  const child = spawn(
    process.execPath,
    [join(root, "test/bench/emulator-process.mjs"), JSON.stringify(options)],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`emulator process exited (${code})`)));
    child.stdout.once("data", (line) => {
      const { url } = JSON.parse(String(line));
      const stop = () =>
        new Promise((r) => {
          child.once("exit", r);
          child.stdin.end();
        });
      resolve({ url, stop });
    });
  });
}
