/**
 * Service-account tokens (OAuth 2.0 client credentials) as Atlas hands them out: opaque bearer
 * tokens with a TTL on simulator time, at most 10 requests a minute and 100 live tokens per client.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";

/** Token requests one client may make in a sliding minute. */
export const TOKEN_REQUESTS_PER_MINUTE = 10;

/** Live (unexpired, unrevoked) tokens one client may hold. */
export const MAX_LIVE_TOKENS = 100;

/** The outcome of a token request from an authenticated client. */
export type IssueResult =
  | { readonly kind: "issued"; readonly token: string; readonly expiresIn: number }
  | { readonly kind: "rate_limited"; readonly retryAfterSeconds: number }
  | { readonly kind: "too_many_tokens" };

/** What the authority needs: the clients, the TTL and a clock (epoch ms). */
export interface TokenAuthorityOptions {
  /** Client id to client secret. */
  readonly clients: ReadonlyMap<string, string>;
  readonly ttlSeconds: number;
  readonly now: () => number;
}

interface TokenRecord {
  readonly clientId: string;
  readonly expiresAt: number;
  revoked: boolean;
}

/** Issues, checks and revokes bearer tokens. */
export class TokenAuthority {
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly recentRequests = new Map<string, number[]>();
  private readonly liveByClient = new Map<string, string[]>();

  constructor(private readonly options: TokenAuthorityOptions) {}

  /** Whether `clientId`/`clientSecret` is a configured service account. */
  authenticateClient(clientId: string, clientSecret: string): boolean {
    const expected = this.options.clients.get(clientId);
    if (expected === undefined) return false;
    const a = Buffer.from(expected);
    const b = Buffer.from(clientSecret);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** Issues a token to an authenticated client, within the per-minute and live-token limits. */
  issue(clientId: string): IssueResult {
    const now = this.options.now();
    const recent = (this.recentRequests.get(clientId) ?? []).filter((t) => now - t < 60_000);
    this.recentRequests.set(clientId, recent);
    const oldest = recent[0];
    if (recent.length >= TOKEN_REQUESTS_PER_MINUTE && oldest !== undefined) {
      return {
        kind: "rate_limited",
        retryAfterSeconds: Math.max(1, Math.ceil((oldest + 60_000 - now) / 1000)),
      };
    }
    recent.push(now);
    const live = (this.liveByClient.get(clientId) ?? []).filter((t) => this.isValid(t));
    this.liveByClient.set(clientId, live);
    if (live.length >= MAX_LIVE_TOKENS) return { kind: "too_many_tokens" };
    const token = randomBytes(32).toString("base64url");
    this.tokens.set(token, {
      clientId,
      expiresAt: now + this.options.ttlSeconds * 1000,
      revoked: false,
    });
    live.push(token);
    return { kind: "issued", token, expiresIn: this.options.ttlSeconds };
  }

  /** Whether a bearer token was issued, has not expired and was not revoked. */
  isValid(token: string): boolean {
    const record = this.tokens.get(token);
    return record !== undefined && !record.revoked && this.options.now() < record.expiresAt;
  }

  /** Revokes one of `clientId`'s tokens; false when the token is unknown or another client's. */
  revoke(clientId: string, token: string): boolean {
    const record = this.tokens.get(token);
    if (!record || record.clientId !== clientId) return false;
    record.revoked = true;
    return true;
  }

  /** How many tokens are live (issued, unexpired, unrevoked), over every client. */
  liveCount(): number {
    let live = 0;
    for (const token of this.tokens.keys()) if (this.isValid(token)) live++;
    return live;
  }

  /** Revokes every token issued so far. */
  revokeAll(): void {
    for (const record of this.tokens.values()) record.revoked = true;
  }
}
