// OAuth 2.0 (protocol notes §3): a client assertion buys an access token, which with the public IP and
// a signed {credential, ip} JWT buys the SSO bearer that authorises every request.
import type { ResolvedConfig } from "./config";
import { IbauthError, type IbauthStep, isIbauthError } from "./errors";
import * as flow from "./flow";
import { importPrivateKey } from "./keys";
import type { Mechanism, MechanismHost, SessionKey } from "./mechanism";
import type { SessionRecord } from "./store";
import type { AuthStatus } from "./types";

type AccessToken = NonNullable<SessionRecord["accessToken"]>;

export class OAuth2Mechanism implements Mechanism {
  readonly identity: string;
  readonly #cfg: ResolvedConfig;
  readonly #host: MechanismHost;
  readonly #flow: flow.SigningContext;
  #access: AccessToken | undefined;

  constructor(cfg: ResolvedConfig, host: MechanismHost) {
    this.#cfg = cfg;
    this.#host = host;
    this.identity = `${cfg.clientId}\n${cfg.credential}\n${cfg.baseUrl ?? "ibkr"}`;
    // Imported now, not at the first login: Node's WebCrypto parses the key synchronously (~1 ms for
    // RSA-3072), which would otherwise sit between the IP lookup going out and the token request.
    // A bad key still fails the first login (the same promise, awaited there), never the constructor.
    const key = importPrivateKey(cfg.privateKey);
    key.catch(() => {});
    const base = host.flow;
    this.#flow = {
      http: base.http,
      get origin() {
        return base.origin;
      },
      remember: base.remember,
      clientId: cfg.clientId,
      kid: cfg.clientKeyId,
      ssoLifetimeSec: cfg.ssoLifetimeSec,
      key: () => key,
    };
  }

  /** Good for longer than the refresh margin. */
  #isFresh(token: AccessToken): boolean {
    return token.expiresAt - this.#cfg.refreshMarginMs > this.#cfg.now();
  }

  /** A valid access token: reused while it has more than `refreshMarginMs` left, else a new one. */
  accessToken(): Promise<AccessToken> {
    const a = this.#access;
    if (a && this.#isFresh(a)) return Promise.resolve(a);
    return this.#host.once("token", async () => {
      const token = await flow.requestAccessToken(this.#flow, this.#cfg.scope);
      this.#access = token;
      this.#host.counters.accessTokens++;
      this.#cfg.logger.info(
        { step: "token", expiresAt: new Date(token.expiresAt).toISOString() },
        "access token issued",
      );
      await this.#host.save();
      return token;
    });
  }

  /** Keeps the access token ahead of its expiry, so a later re-login needs no token round trip. */
  async maintain(): Promise<void> {
    if (!this.#access || this.#isFresh(this.#access)) return;
    try {
      await this.accessToken();
    } catch (e) {
      this.#host.fail(e);
    }
  }

  async #resolveIp(): Promise<{ ip: string; alternativeIps: string[] }> {
    const ip = this.#cfg.ip ?? (await flow.lookupPublicIp(this.#flow, this.#cfg.ipLookupUrl));
    return { ip, alternativeIps: this.#cfg.alternativeIps };
  }

  /** Token and IP lookup in parallel, then sso-sessions. A refused access token is replaced once. */
  async obtain(reason: string, previous: SessionKey | undefined): Promise<SessionKey> {
    // The IP lookup goes out first; the key import and the client assertion run while it travels,
    // and the sso-sessions JWT is signed as soon as the IP is known, while the token request is out.
    const where$ = this.#resolveIp();
    const signed$ = where$.then((where) =>
      flow.signBearerRequest(this.#flow, { credential: this.#cfg.credential, ...where }),
    );
    const [where, signed, access] = await Promise.all([where$, signed$, this.accessToken()]);
    const mint = (token: string, presigned?: string) =>
      flow.requestBearer(this.#flow, {
        accessToken: token,
        credential: this.#cfg.credential,
        ...where,
        ...(presigned ? { signed: presigned } : {}),
      });
    let token: string;
    try {
      token = await mint(access.token, signed);
    } catch (e) {
      if (!(isIbauthError(e) && e.status === 401)) throw e;
      this.#access = undefined;
      token = await mint((await this.accessToken()).token);
    }
    if (previous && previous.ip !== where.ip)
      this.#cfg.logger.info({ step: "ip", from: previous.ip, to: where.ip }, "public IP changed");
    this.#cfg.logger.info({ step: "bearer", ip: where.ip, reason }, "SSO bearer issued");
    return {
      token,
      ip: where.ip,
      createdAt: this.#cfg.now(),
      ...(where.alternativeIps.length ? { alternativeIps: where.alternativeIps } : {}),
    };
  }

  async authorize(key: SessionKey): Promise<string> {
    return `Bearer ${key.token}`;
  }

  /** A bearer refused moments after sso-sessions issued it: the ip claim is not the IP IBKR sees. */
  refusal(key: SessionKey | undefined, response: Response | undefined, step: IbauthStep): IbauthError {
    return new IbauthError("IBKR refused a bearer minted moments ago", {
      code: "ERR_AUTH",
      step,
      status: 401,
      ...(response ? { response } : {}),
      hint: `The ip claim (${key?.ip ?? "?"}) is most likely not the IP IBKR sees. Set the ip option (and alternativeIps) to your real egress IP, or point ipLookupUrl at a service that reports it`,
    });
  }

  /** A bearer has no expiry of its own: IBKR ends it, and a 401 says so. */
  expiring(): boolean {
    return false;
  }

  persisted(): Pick<SessionRecord, "accessToken"> {
    return this.#access ? { accessToken: this.#access } : {};
  }

  adopt(record: SessionRecord): void {
    if (!record.accessToken) return;
    this.#access = record.accessToken;
    this.#host.flow.remember(record.accessToken.token);
  }

  status(key: SessionKey | undefined): Partial<AuthStatus> {
    return {
      ...(key ? { ip: key.ip } : {}),
      ...(this.#access ? { accessTokenExpiresAt: this.#access.expiresAt } : {}),
    };
  }
}
