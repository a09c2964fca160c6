import { describe, test } from "vitest";
import { cases, inProcessTransport, runCase } from "../conformance/suite";

describe("workerd (nodejs_compat): emulator's fetch handler in-process", () => {
  for (const c of cases) test(c.name, () => runCase(c, inProcessTransport));
});
