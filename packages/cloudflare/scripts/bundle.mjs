// The example Worker (`export default createWorker()`) as wrangler bundles it for deployment.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** `wrangler deploy --dry-run` of examples/cloudflare-worker: the script text Cloudflare would run. */
export function bundleExample() {
  const outdir = mkdtempSync(join(tmpdir(), "ibauth-cf-bundle-"));
  try {
    const built = spawnSync(
      join(ROOT, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--outdir", outdir],
      {
        cwd: join(ROOT, "examples/cloudflare-worker"),
        encoding: "utf8",
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
      },
    );
    if (built.status !== 0) throw new Error(`wrangler failed:\n${built.stdout}${built.stderr}`);
    return readFileSync(join(outdir, "index.js"), "utf8");
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
