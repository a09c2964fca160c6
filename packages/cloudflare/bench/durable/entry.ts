// The bench's Worker: the Durable Object mode as the example exports it, with a 1 s keepalive so that
// alarms can be counted in seconds rather than minutes (IBKR allows one tickle a second).
import { createDurableWorker, ibauthSession } from "../../src/index";

export const IbauthSession = ibauthSession({ keepaliveMs: 1000 });
export default createDurableWorker();
