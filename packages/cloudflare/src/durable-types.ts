/**
 * The parts of the Durable Object API this package uses. Structural, so the runtime's own types fit
 * without @cloudflare/workers-types being a dependency, and no `cloudflare:*` import is needed.
 */
export interface DurableStorageLike {
  get<T = unknown>(key: string): Promise<T | undefined>;
  put<T>(key: string, value: T): Promise<void>;
  delete(key: string): Promise<boolean>;
  getAlarm(): Promise<number | null>;
  setAlarm(scheduledTime: number): Promise<void>;
  deleteAlarm(): Promise<void>;
}

export interface DurableStateLike {
  readonly storage: DurableStorageLike;
  blockConcurrencyWhile<T>(callback: () => Promise<T>): Promise<T>;
}

export interface DurableStubLike {
  fetch(request: Request): Promise<Response>;
}

export interface DurableNamespaceLike {
  idFromName(name: string): unknown;
  get(id: never): DurableStubLike;
}

export function isDurableNamespace(value: unknown): value is DurableNamespaceLike {
  const ns = value as Partial<DurableNamespaceLike> | undefined;
  return typeof ns?.idFromName === "function" && typeof ns.get === "function";
}
