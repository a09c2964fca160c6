// The test Worker (vitest's `main`): the Durable Object mode exactly as a user's Worker exports it,
// with IBKR reached through the in-isolate emulator of test/durable/world.ts.
import { createDurableWorker, ibauthSession } from "@ibauth/cloudflare";
import { options } from "./world";

export const IbauthSession = ibauthSession(options);
export default createDurableWorker(options);
