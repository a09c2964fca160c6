// `npm run ibauth -- …` and `npm run demo`: bootstrap (a no-op when nothing changed), then the CLI in
// this same process, from the folder npm was started in (INIT_CWD) so that relative paths (--config,
// keygen's files) mean what they mean in the user's shell, not the repo root npm switches to.
import { bootstrap } from "./bootstrap.mjs";

bootstrap({ quiet: !process.argv.includes("demo") });
if (process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
await import("../packages/node/dist/cli.js");
