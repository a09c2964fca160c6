export { createWorker } from "./worker";
export type { ExecutionContextLike, IbauthWorker, ScheduledControllerLike } from "./worker";
export { kvStore } from "./kv-store";
export type { KvStoreOptions } from "./kv-store";
export type { KvNamespaceLike } from "./kv";
export type { ConfigProblem, IbauthWorkerEnv } from "./config";
export type { CreateWorkerOptions } from "./settings";
export type { ErrorSummary, IpMismatch, StatusRecord } from "./status-record";
