// Everything from the core too, so a Node app needs only this package.
export * from "@ibauth/core";
export type { AuthOverrides } from "./auth-from";
export { authFromEnv, authFromYaml } from "./auth-from";
export { type FileStoreOptions, fileStore } from "./file-store";
export type { KeepAlive, KeepAliveOptions } from "./keep-alive";
export { keepAlive } from "./keep-alive";
export type { KeyInfo, LoadedKey } from "./keys";
export { loadPrivateKey, loadPrivateKeyFile } from "./keys";
