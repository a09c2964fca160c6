import { createDurableWorker, ibauthSession } from "@ibauth/cloudflare";

// One Durable Object per IBKR username holds that user's session; the Worker maps API keys to users.
// Settings come from the Worker's vars and secrets (see wrangler.toml and README.md).
export const IbauthSession = ibauthSession();
export default createDurableWorker();
