// The suite under `deno test`, unchanged: the import map in deno.json points @ibauth/* at the built
// dists, whose own dependencies (jose, valibot) resolve from the workspace's node_modules.
import { cases, inProcessTransport, runCase } from "../suite.ts";

for (const c of cases) Deno.test(c.name, () => runCase(c, inProcessTransport));
