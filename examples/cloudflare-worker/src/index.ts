import { createWorker } from "@ibauth/cloudflare";

// Everything comes from the Worker's vars, secrets and KV binding (see wrangler.toml and README.md).
export default createWorker();
