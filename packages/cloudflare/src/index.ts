export type { ConfigProblem, IbauthWorkerEnv } from "./config";
export type { KvNamespaceLike } from "./kv";
export type { KvStoreOptions } from "./kv-store";
export { kvStore } from "./kv-store";
export type { CreateWorkerOptions } from "./settings";
export type { ErrorSummary, IpMismatch } from "./status-record";
export type { ExecutionContextLike, IbauthWorker, ScheduledControllerLike } from "./worker";
export { createWorker } from "./worker";
