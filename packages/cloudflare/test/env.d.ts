// The bindings vitest.config.ts gives the test Worker.
declare namespace Cloudflare {
  interface Env {
    IBAUTH_SESSIONS: KVNamespace;
  }
}
