/**
 * Access tokens of an Atlas service account (OAuth 2.0 client credentials). Atlas limits the token
 * endpoint to about 10 requests a minute and a service account to 100 live tokens (then every
 * token request of every user of the account gets 403), so the token is cached until shortly
 * before it expires, concurrent callers share one request, a replaced token is revoked, no more
 * than two tokens are ever live at once, and a hard budget stops a bug or an outage from turning
 * into a token storm.
 */
import type { Dispatcher } from "undici";
import { z } from "zod";
import { REVOKE_PATH, TOKEN_PATH } from "./endpoints.js";
import {
  AtlasAuthError,
  AtlasDecodeError,
  AtlasHttpError,
  isAtlasError,
  type AtlasError,
  type AtlasErrorContext,
} from "./errors.js";
import { headerValue, parseNonNegativeInt, parseRetryAfter } from "./headers.js";
import {
  send,
  type RequestObserver,
  type SendResponse,
  type Timeouts,
  type TransportOptions,
} from "./transport.js";

/** Everything a TokenSource needs; the clock and the dispatcher are parameters for tests. */
export interface TokenSourceOptions {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly dispatcher: Dispatcher;
  readonly userAgent: string;
  readonly timeouts: Timeouts;
  readonly observer?: RequestObserver | undefined;
  /** Wall clock in epoch milliseconds; defaults to Date.now. */
  readonly now?: (() => number) | undefined;
  /** How long before expiry a token is replaced; default 60 s. */
  readonly refreshMarginMs?: number | undefined;
  /** Token requests allowed in any sliding 60 s window, failures included; default 10. */
  readonly maxRequestsPerMinute?: number | undefined;
}

/** What `revoke()` did; it never throws, so shutdown paths can log this instead. */
export type RevokeOutcome =
  | { readonly status: "revoked" }
  /** No token was cached: nothing to revoke. */
  | { readonly status: "none" }
  | { readonly status: "failed"; readonly error: AtlasError };

/** The default refresh margin: a token is replaced one minute before it runs out. */
export const DEFAULT_REFRESH_MARGIN_MS = 60_000;

/** The default token request budget, Atlas's documented limit per client and IP. */
export const DEFAULT_MAX_TOKEN_REQUESTS_PER_MINUTE = 10;

/**
 * Most tokens held at once that are neither expired nor known to be revoked: the one in use and
 * the one it replaces while that one's revocation is under way (or failed).
 */
export const MAX_LIVE_TOKENS = 2;

/**
 * A token younger than this (or than a quarter of its lifetime, if that is shorter) is "fresh":
 * Atlas's 401 to it says more about the resource (a project the account may not read) than about
 * the token, so it is not replaced (see auth.ts).
 */
export const FRESH_TOKEN_MS = 60_000;

const WINDOW_MS = 60_000;
const GET_TOKEN = "get service account token";
const REVOKE_TOKEN = "revoke service account token";

interface CachedToken {
  readonly token: string;
  /** When the request that obtained it started, epoch ms. */
  readonly issuedAt: number;
  /** When to fetch a new one (expiry minus the margin), epoch ms. */
  readonly refreshAt: number;
  /** When Atlas stops accepting it, epoch ms. */
  readonly expiresAt: number;
}

/**
 * Obtains, caches and revokes the service account's access token. Error messages never contain
 * the client secret, the Basic credential or a token.
 */
export class TokenSource {
  readonly #options: TokenSourceOptions;
  readonly #transport: TransportOptions;
  readonly #now: () => number;
  readonly #basic: string;
  readonly #margin: number;
  readonly #budget: number;
  /** Start times of the token requests of the last 60 s, oldest first. */
  readonly #sent: number[] = [];
  #cached: CachedToken | undefined;
  /** Tokens obtained and neither expired nor known to be revoked, oldest first. */
  #held: CachedToken[] = [];
  /** Revocations of replaced tokens still under way. */
  readonly #revoking = new Set<Promise<void>>();
  #inflight: Promise<CachedToken> | undefined;
  /** A Retry-After in force: no token request before `until`. */
  #backoff: { readonly until: number; readonly error: AtlasHttpError } | undefined;

  constructor(options: TokenSourceOptions) {
    this.#options = options;
    this.#transport = {
      baseUrl: options.baseUrl,
      dispatcher: options.dispatcher,
      userAgent: options.userAgent,
      timeouts: options.timeouts,
      observer: options.observer,
    };
    this.#now = options.now ?? Date.now;
    const pair = `${options.clientId}:${options.clientSecret}`;
    this.#basic = `Basic ${Buffer.from(pair, "utf8").toString("base64")}`;
    this.#margin = options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    this.#budget = options.maxRequestsPerMinute ?? DEFAULT_MAX_TOKEN_REQUESTS_PER_MINUTE;
  }

  /**
   * Resolves with a valid access token: the cached one, or a new one shared by every concurrent
   * caller. The signal only stops this caller's wait, never the shared request. Rejects with an
   * AtlasAuthError when the request budget is spent, an AtlasHttpError while a Retry-After is in
   * force or when the endpoint refuses, an AtlasDecodeError for a malformed answer, and an
   * AtlasAuthError when a new token would make more than MAX_LIVE_TOKENS live.
   */
  getToken(signal?: AbortSignal): Promise<string> {
    if (signal?.aborted) return Promise.reject(signal.reason as unknown);
    const usable = this.usableToken();
    if (usable !== undefined) return Promise.resolve(usable);
    if (!this.#inflight) {
      const inflight = this.#fetch().finally(() => {
        this.#inflight = undefined;
      });
      // Callers that gave up no longer listen; the outcome must not become an unhandled rejection.
      void inflight.catch(() => undefined);
      this.#inflight = inflight;
    }
    return untilAborted(
      this.#inflight.then((t) => t.token),
      signal,
    );
  }

  /** How many token requests the budget still allows in the current 60 s window. */
  budgetLeft(): number {
    const now = this.#now();
    return this.#budget - this.#sent.filter((sent) => sent > now - WINDOW_MS).length;
  }

  /** The cached token while it needs no refresh (what getToken would resolve with at once). */
  usableToken(): string | undefined {
    const cached = this.#cached;
    return cached && this.#now() < cached.refreshAt ? cached.token : undefined;
  }

  /** The cached token, if one is held (it may be due for refresh). */
  currentToken(): string | undefined {
    return this.#cached?.token;
  }

  /** True when `token` is younger than FRESH_TOKEN_MS and than a quarter of its lifetime. */
  isFresh(token: string): boolean {
    const held = this.#held.find((t) => t.token === token);
    if (held === undefined) return false;
    const window = Math.min(FRESH_TOKEN_MS, (held.expiresAt - held.issuedAt) / 4);
    return this.#now() - held.issuedAt < window;
  }

  /** How many tokens this source holds that are neither expired nor known to be revoked. */
  liveTokens(): number {
    const now = this.#now();
    this.#held = this.#held.filter((t) => t.expiresAt > now);
    return this.#held.length;
  }

  /**
   * Drops the cached token if it is `token` (Atlas refused it); the next getToken fetches anew
   * and revokes it once the new one is in.
   */
  invalidate(token: string): void {
    if (this.#cached?.token === token) this.#cached = undefined;
  }

  /**
   * Revokes the cached token, if any, so it does not count against the account's live tokens,
   * and waits for the revocations of replaced tokens still under way. `signal` bounds the wait
   * (shutdown has a deadline). Never rejects: the outcome says what happened to the cached token.
   */
  async revoke(signal?: AbortSignal): Promise<RevokeOutcome> {
    const context = { operation: REVOKE_TOKEN, target: REVOKE_PATH };
    try {
      await untilAborted(
        Promise.all([this.#inflight?.catch(() => undefined), ...this.#revoking]),
        signal,
      );
      const cached = this.#cached;
      if (!cached) return { status: "none" };
      if (this.#cached === cached) this.#cached = undefined;
      await this.#revokeOne(cached, signal);
      return { status: "revoked" };
    } catch (error) {
      return {
        status: "failed",
        error: isAtlasError(error)
          ? error
          : new AtlasAuthError("revocation failed", { ...context, cause: error }),
      };
    }
  }

  /** Revokes one held token; throws an AtlasError when Atlas refuses or cannot be reached. */
  async #revokeOne(held: CachedToken, signal?: AbortSignal): Promise<void> {
    const context = { operation: REVOKE_TOKEN, target: REVOKE_PATH };
    const body = new URLSearchParams({ token: held.token, token_type_hint: "access_token" });
    const response = await this.#post(REVOKE_PATH, REVOKE_TOKEN, body.toString(), signal);
    if (response.status < 200 || response.status > 299) throw this.#httpError(response, context);
    this.#held = this.#held.filter((t) => t !== held);
  }

  /** Revokes the tokens `current` replaced, in the background; a failure leaves them held. */
  #revokeReplaced(current: CachedToken): void {
    for (const old of this.#held.filter((t) => t !== current)) {
      const revoking = this.#revokeOne(old).catch(() => undefined);
      this.#revoking.add(revoking);
      void revoking.finally(() => this.#revoking.delete(revoking));
    }
  }

  async #fetch(): Promise<CachedToken> {
    const context = { operation: GET_TOKEN, target: TOKEN_PATH };
    // A replaced token still being revoked counts as live until Atlas has answered.
    if (this.liveTokens() >= MAX_LIVE_TOKENS) await Promise.all(this.#revoking);
    if (this.liveTokens() >= MAX_LIVE_TOKENS) {
      throw new AtlasAuthError(
        `${MAX_LIVE_TOKENS} live tokens are held and the replaced one could not be revoked; ` +
          `no new token until one expires`,
        context,
      );
    }
    const started = this.#now();
    this.#admit(started, context);
    const response = await this.#post(TOKEN_PATH, GET_TOKEN, "grant_type=client_credentials");
    if (response.status < 200 || response.status > 299) {
      const error = this.#httpError(response, context);
      if (error.retryAfterMs !== undefined && (error.status === 429 || error.status === 503)) {
        this.#backoff = { until: this.#now() + error.retryAfterMs, error };
      }
      throw error;
    }
    const { token, expiresInMs } = decodeToken(response.body, context);
    // A token shorter-lived than twice the margin is still used for half its life.
    const margin = Math.min(this.#margin, expiresInMs / 2);
    const cached = {
      token,
      issuedAt: started,
      refreshAt: started + expiresInMs - margin,
      expiresAt: started + expiresInMs,
    };
    this.#cached = cached;
    this.#held.push(cached);
    this.#revokeReplaced(cached);
    return cached;
  }

  /** Throws unless a token request may go out now; counts it when it may. */
  #admit(now: number, context: AtlasErrorContext): void {
    const backoff = this.#backoff;
    if (backoff && now < backoff.until) {
      const { error } = backoff;
      throw new AtlasHttpError(
        {
          status: error.status,
          retryAfterMs: backoff.until - now,
          ...(error.errorCode !== undefined ? { errorCode: error.errorCode } : {}),
          ...(error.detail !== undefined ? { detail: error.detail } : {}),
          ...(error.reason !== undefined ? { reason: error.reason } : {}),
        },
        { ...context, cause: error },
      );
    }
    while (this.#sent.length > 0 && (this.#sent[0] ?? 0) <= now - WINDOW_MS) this.#sent.shift();
    if (this.#sent.length >= this.#budget) {
      const next = (this.#sent[0] ?? now) + WINDOW_MS;
      throw new AtlasAuthError(
        `token request budget spent (${this.#budget} per 60 s); next request allowed in ` +
          `${Math.ceil((next - now) / 1000)} s, at ${new Date(next).toISOString()}`,
        context,
      );
    }
    this.#sent.push(now);
  }

  #post(
    path: string,
    operation: string,
    body: string,
    signal?: AbortSignal,
  ): Promise<SendResponse> {
    return send(this.#transport, {
      signal,
      method: "POST",
      path,
      headers: {
        authorization: this.#basic,
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body,
      api: "oauth",
      operation,
    });
  }

  /** Maps a non-2xx answer, OAuth's `error`/`error_description` or Atlas's ApiError body. */
  #httpError(response: SendResponse, context: AtlasErrorContext): AtlasHttpError {
    const body = parseJsonObject(response.body) ?? {};
    const text = (value: unknown): string | undefined =>
      typeof value === "string" && value !== "" ? this.#redact(value) : undefined;
    const errorCode = text(body["error"]) ?? text(body["errorCode"]);
    const detail = text(body["error_description"]) ?? text(body["detail"]);
    const reason = text(body["reason"]);
    const retryAfterMs = parseRetryAfter(headerValue(response.headers, "retry-after"), this.#now());
    const remaining = parseNonNegativeInt(headerValue(response.headers, "ratelimit-remaining"));
    return new AtlasHttpError(
      {
        status: response.status,
        ...(errorCode !== undefined ? { errorCode } : {}),
        ...(detail !== undefined ? { detail } : {}),
        ...(reason !== undefined ? { reason } : {}),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        ...(remaining !== undefined ? { rateLimitRemaining: remaining } : {}),
      },
      context,
    );
  }

  /** Blanks out any secret a server might echo back into an error text. */
  #redact(text: string): string {
    const secrets = [
      this.#options.clientSecret,
      this.#basic,
      ...this.#held.map((t) => t.token),
      this.#cached?.token,
    ];
    let out = text;
    for (const secret of secrets) {
      if (secret) out = out.split(secret).join("[redacted]");
    }
    return out;
  }
}

/** Validates the token answer without ever quoting it (it holds the token). */
const MISSING_TOKEN = "access_token is missing or empty";
const BAD_EXPIRY = "expires_in is not a positive number";
const NOT_BEARER = "token_type is not Bearer";

/** The token endpoint's answer (RFC 6749 section 5.1), as far as the client relies on it. */
const tokenSchema = z.object({
  access_token: z.string({ error: MISSING_TOKEN }).min(1, MISSING_TOKEN),
  expires_in: z.number({ error: BAD_EXPIRY }).positive(BAD_EXPIRY),
  token_type: z
    .string({ error: NOT_BEARER })
    .refine((type) => type.toLowerCase() === "bearer", NOT_BEARER),
});

function decodeToken(
  body: string,
  context: AtlasErrorContext,
): { token: string; expiresInMs: number } {
  const json = parseJsonObject(body);
  if (!json) throw new AtlasDecodeError(["the body is not a JSON object"], context);
  const parsed = tokenSchema.safeParse(json);
  if (!parsed.success) {
    // Messages are fixed texts: a field's value (a token, perhaps) never reaches an error.
    throw new AtlasDecodeError([...new Set(parsed.error.issues.map((i) => i.message))], context);
  }
  return { token: parsed.data.access_token, expiresInMs: parsed.data.expires_in * 1000 };
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The promise, or the signal's reason if it aborts first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as unknown);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
