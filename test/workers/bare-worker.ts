// A Worker that runs the whole suite on any request and answers with the results as JSON. It is
// bundled into one module and run in a Miniflare with no compatibility flags (no nodejs_compat),
// which proves the core and the emulator need nothing but web standards.
import { inProcessTransport, runAll } from "../conformance/suite";

export default {
  async fetch(): Promise<Response> {
    return Response.json(await runAll(inProcessTransport));
  },
};
