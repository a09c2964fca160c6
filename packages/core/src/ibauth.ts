import type { AuthStatus, BrokerageStatus, IBAuthOptions, TickleResult, TickOutcome, ValidateResult } from "./types";

/** Work in progress: the signatures are the contract; bodies land next. */
export class IBAuth {
  constructor(_options: IBAuthOptions) {}
  get domain(): string {
    throw new Error("todo");
  }
  set domain(_value: string) {}
  async getAccessToken(): Promise<string> {
    throw new Error("todo");
  }
  async getBearerToken(): Promise<string> {
    throw new Error("todo");
  }
  async ssodhInit(): Promise<BrokerageStatus> {
    throw new Error("todo");
  }
  async validateSso(): Promise<ValidateResult> {
    throw new Error("todo");
  }
  async tickle(): Promise<TickleResult> {
    throw new Error("todo");
  }
  async logout(): Promise<void> {}
  async connect(): Promise<AuthStatus> {
    throw new Error("todo");
  }
  async fetch(_path: string, _init?: RequestInit): Promise<Response> {
    throw new Error("todo");
  }
  async tick(): Promise<TickOutcome> {
    throw new Error("todo");
  }
  status(): AuthStatus {
    throw new Error("todo");
  }
}
