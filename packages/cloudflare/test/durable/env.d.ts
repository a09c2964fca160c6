// The bindings vitest.durable.config.ts gives the Durable Object tests' Worker (besides every user's settings).
declare namespace Cloudflare {
  interface Env {
    IBAUTH_SESSION: DurableObjectNamespace;
    TEST_EMULATOR_URL: string;
    TEST_LAB_URL: string;
  }
}
