import { describe, test } from "vitest";
import { nodeHttpTransport } from "../support/node-http-transport";
import { cases, inProcessTransport, runCase } from "./suite";

describe("node: emulator's fetch handler in-process", () => {
  for (const c of cases) test(c.name, () => runCase(c, inProcessTransport));
});

describe("node: emulator over real HTTP on 127.0.0.1", () => {
  for (const c of cases) test(c.name, () => runCase(c, nodeHttpTransport));
});
