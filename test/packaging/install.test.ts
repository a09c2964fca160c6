// The packages as a user outside this repository gets them: `pnpm pack` each one, install the
// tarballs into a temp project (offline, from pnpm's store), and run the READMEs' snippets there
// against the emulator that the installed `ibauth` CLI starts: Node, Deno (a local import map and
// `npm:` specifiers) and the Worker (`wrangler deploy --dry-run`).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { pnpmCommand } from "../../scripts/pnpm.mjs";

const ROOT = join(import.meta.dirname, "../..");
const PACKAGES = ["core", "node", "emulator", "cloudflare", "deno"];
const VERSION = JSON.parse(readFileSync(join(ROOT, "packages/core/package.json"), "utf8")).version;

let dir: string;
let app: string;
let emulator: ChildProcess | undefined;
let emulatorOauth1: ChildProcess | undefined;
const emu = { url: "", config: "", key: "" };
/** Where the OAuth 1.0a snippets run: its emu/ holds `ibauth emulator --oauth1`'s config.yaml and oauth1.env. */
let oauth1App: string;
let emuOauth1Url = "";

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    timeout: 150_000,
    env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", WRANGLER_SEND_METRICS: "false", ...env },
  });
  return { code: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

function pnpm(args: string[], cwd: string) {
  const [command, ...pre] = pnpmCommand();
  const r = run(command!, [...pre, ...args], cwd);
  if (r.code !== 0) throw new Error(`pnpm ${args.join(" ")} failed in ${cwd}:\n${r.output}`);
}

/** The `n`th ```ts block of a README, as written there. */
function snippet(readme: string, heading?: string, n = 0): string {
  let text = readFileSync(join(ROOT, readme), "utf8");
  if (heading) text = text.slice(text.indexOf(heading));
  const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (!blocks[n]) throw new Error(`${readme}: no ts block ${n}${heading ? ` after ${heading}` : ""}`);
  return blocks[n]!;
}

/** `ibauth emulator ARGS` from the installed bin, once it listens. */
async function startCliEmulator(args: string[], cwd: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(join(app, "node_modules/.bin/ibauth"), ["emulator", ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: "1" },
  });
  let stderr = "";
  await new Promise<void>((ready, fail) => {
    child.stderr!.on("data", (c) => {
      stderr += c;
      if (/emulator running at/.test(stderr)) ready();
    });
    child.on("close", () => fail(new Error(`the installed ibauth emulator exited: ${stderr}`)));
  });
  return { child, url: /emulator running at (\S+);/.exec(stderr)![1]! };
}

const tarball = (name: string) => `file:../tarballs/ibauth-${name}-${VERSION}.tgz`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ibauth-install-"));
  app = join(dir, "app");
  oauth1App = join(app, "oauth1");
  mkdirSync(join(dir, "tarballs"));
  mkdirSync(app);
  for (const name of PACKAGES)
    pnpm(["pack", "--pack-destination", join(dir, "tarballs")], join(ROOT, "packages", name));
  const deps = Object.fromEntries(
    ["core", "node", "emulator", "cloudflare"].map((n) => [`@ibauth/${n}`, tarball(n)]),
  );
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "app", private: true, type: "module", dependencies: { ...deps, yaml: "^2.9.1" } }),
  );
  // The packed manifests ask for @ibauth/core@0.1.0 and @ibauth/emulator@0.1.0, not on npm yet: the tarballs stand in.
  writeFileSync(
    join(app, "pnpm-workspace.yaml"),
    `overrides:\n  "@ibauth/core": "${tarball("core")}"\n  "@ibauth/emulator": "${tarball("emulator")}"\n`,
  );
  pnpm(["install", "--offline", "--reporter=silent"], app);

  // The installed CLI's emulators, for the snippets to log in to: OAuth 2.0, and OAuth 1.0a (a portal-like
  // consumer) in a folder of its own, so each login's snippets find their own emu/config.yaml.
  const oauth2 = await startCliEmulator(["--bits", "2048", "--out", "emu"], app);
  emulator = oauth2.child;
  emu.url = oauth2.url;
  emu.config = join(app, "emu", "config.yaml");
  emu.key = join(app, "emu", "private_key.pem");
  mkdirSync(oauth1App);
  const oauth1 = await startCliEmulator(["--oauth1", "--bits", "2048", "--out", "emu"], oauth1App);
  emulatorOauth1 = oauth1.child;
  emuOauth1Url = oauth1.url;
}, 300_000);

afterAll(() => {
  emulator?.kill("SIGINT");
  emulatorOauth1?.kill("SIGINT");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The Deno README's snippet, from the packed source with npm: specifiers, until it prints a connected status. */
async function runDenoSnippet(flags: string[], env: Record<string, string>): Promise<string> {
  const deno = join(app, "deno");
  if (!existsSync(deno)) {
    mkdirSync(deno);
    expect(run("tar", ["-xzf", join(dir, "tarballs", `ibauth-deno-${VERSION}.tgz`)], deno).code).toBe(0);
    writeFileSync(
      join(app, "deno.json"),
      JSON.stringify({
        imports: {
          "@ibauth/deno": "./deno/package/src/mod.ts",
          "@ibauth/core": `npm:@ibauth/core@^${VERSION}`,
          yaml: "npm:yaml@^2.9.1",
        },
        nodeModulesDir: "manual",
        lock: false,
      }),
    );
    writeFileSync(join(app, "main.ts"), snippet("packages/deno/README.md"));
  }
  // The snippet keeps the session alive with Deno.cron until stopped: wait for its output, then stop it.
  // The binary itself, not the .bin shim: a signal to the shim would leave deno running.
  const child = spawn(
    join(ROOT, "node_modules/deno/deno"),
    [
      "run",
      ...flags,
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-read",
      "--unstable-kv",
      "--unstable-cron",
      "main.ts",
    ],
    {
      cwd: app,
      env: {
        ...process.env,
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
        DENO_DIR: join(dir, "deno-dir"),
        ...env,
      },
    },
  );
  let output = "";
  const exited = new Promise<number | null>((done) => child.on("close", done));
  await new Promise<void>((done) => {
    const seen = (c: Buffer) => {
      output += c;
      if (/state: "connected"/.test(output)) done();
    };
    child.stdout.on("data", seen);
    child.stderr.on("data", seen);
    child.on("close", () => done());
    setTimeout(done, 60_000);
  });
  child.kill("SIGTERM");
  await exited;
  return output;
}

describe("the packed tarballs, installed outside the workspace", () => {
  // Each snippet is a separate user's first run: the strict emulator would otherwise (rightly) refuse the
  // second snippet's /portfolio/accounts within IBKR's 1-per-5-s row, as separate processes with separate
  // stores share no pacing.
  beforeEach(async () => {
    for (const url of [emu.url, emuOauth1Url]) {
      const r = await fetch(`${url}/__emulator/control`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ action: "reset" }),
      });
      expect(r.status).toBe(200);
    }
  });

  test("the installed `ibauth` bin runs (npx ibauth)", () => {
    const r = run(join(app, "node_modules/.bin/ibauth"), ["--version"], app);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toBe(`${VERSION}\n`);
  });

  test("README.md 'Use it' runs as written (Node)", () => {
    copyFileSync(emu.config, join(app, "config.yaml"));
    writeFileSync(join(app, "use-it.mjs"), snippet("README.md", "## Use it"));
    const r = run(process.execPath, ["use-it.mjs"], app);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/state: 'connected'/);
    expect(existsSync(join(app, ".ibauth-session.json")), "the session file the snippet names").toBe(false); // logged out: deleted
  });

  test("packages/node/README.md's library snippet runs as written", () => {
    copyFileSync(emu.config, join(app, "config.yaml"));
    writeFileSync(join(app, "node-readme.mjs"), snippet("packages/node/README.md", "## Library"));
    const r = run(process.execPath, ["node-readme.mjs"], app);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/session connected/);
  });

  test("packages/cloudflare/README.md's Worker bundles with wrangler deploy --dry-run", () => {
    const worker = join(app, "worker");
    mkdirSync(join(worker, "src"), { recursive: true });
    writeFileSync(join(worker, "src/index.ts"), snippet("packages/cloudflare/README.md"));
    writeFileSync(
      join(worker, "wrangler.toml"),
      'name = "ibauth-install-test"\nmain = "src/index.ts"\ncompatibility_date = "2026-04-01"\n',
    );
    const r = run(
      join(ROOT, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--outdir", "dist"],
      worker,
    );
    expect(r.code, r.output).toBe(0);
    expect(readFileSync(join(worker, "dist/index.js"), "utf8")).toContain("IBKR");
  });

  test("packages/deno/README.md's snippet runs in Deno from the packed source and npm: specifiers", async () => {
    const config = readFileSync(emu.config, "utf8");
    const value = (key: string) => new RegExp(`^${key}: (.*)$`, "m").exec(config)![1]!.replace(/^"|"$/g, "");
    const output = await runDenoSnippet([], {
      IBKR_CLIENT_ID: value("client_id"),
      IBKR_CLIENT_KEY_ID: value("client_key_id"),
      IBKR_CREDENTIAL: value("credential"),
      IBKR_PRIVATE_KEY_FILE: emu.key,
      IBKR_BASE_URL: emu.url,
      IBKR_IP_LOOKUP_URL: `${emu.url}/__emulator/ip`,
    });
    expect(output).toMatch(/state: "connected"/);
  }, 120_000);

  test("README.md's OAuth 1.0a snippet runs as written against `ibauth emulator --oauth1` (Node)", () => {
    writeFileSync(join(oauth1App, "root-oauth1.mjs"), snippet("README.md", "Try OAuth 1.0a with no account"));
    const r = run(process.execPath, ["root-oauth1.mjs"], oauth1App);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/^connected \d+ 1$/m);
  });

  test("packages/node/README.md's OAuth 1.0a snippet runs as written", () => {
    writeFileSync(join(oauth1App, "node-oauth1.mjs"), snippet("packages/node/README.md", "### OAuth 1.0a"));
    const r = run(process.execPath, ["node-oauth1.mjs"], oauth1App);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/^connected \d{4}-\d\d-\d\dT/m);
  });

  test("packages/deno/README.md's snippet logs in with OAuth 1.0a from --env-file=emu/oauth1.env", async () => {
    const output = await runDenoSnippet([`--env-file=${join(oauth1App, "emu", "oauth1.env")}`], {});
    expect(output).toMatch(/state: "connected"/);
    expect(output).toMatch(/liveSessionTokenExpiresAt: \d+/);
  }, 120_000);
});
