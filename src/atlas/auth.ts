/**
 * How the Atlas client authenticates, whichever credentials were configured: an API key through
 * the Digest interceptor on the dispatcher, a service account through a cached bearer token.
 */
import type { Dispatcher } from "undici";
import type { Credentials } from "../config/settings.js";
import { digestAuth } from "./digest-interceptor.js";
import { TokenSource, type RevokeOutcome } from "./oauth.js";
import type { RequestObserver, Timeouts } from "./transport.js";

/** How API requests get authenticated. */
export interface Authenticator {
  /** The dispatcher API requests go through (digest: the agent composed with digestAuth). */
  readonly dispatcher: Dispatcher;
  /** Extra request headers (bearer: Authorization). */
  headers(signal?: AbortSignal): Promise<Record<string, string>>;
  /** Called after a 401 on an API request that used `usedHeaders`; true when one retry with fresh credentials makes sense. */
  unauthorized(usedHeaders: Record<string, string>): boolean;
  /** Releases credentials (bearer: revoke the token) and says how that went. Never throws. */
  close(): Promise<RevokeOutcome>;
}

/** What an Authenticator is built from; `now` is the wall clock, for token expiry. */
export interface AuthenticatorDeps {
  readonly agent: Dispatcher;
  readonly baseUrl: string;
  readonly userAgent: string;
  readonly timeouts: Timeouts;
  readonly observer?: RequestObserver;
  readonly now?: () => number;
}

/** Builds the Authenticator for the configured credentials. */
export function createAuthenticator(
  credentials: Credentials,
  deps: AuthenticatorDeps,
): Authenticator {
  if (credentials.kind === "apiKey") {
    const dispatcher = deps.agent.compose(
      digestAuth({ username: credentials.publicKey, password: credentials.privateKey }),
    );
    return {
      dispatcher,
      headers: () => Promise.resolve({}),
      // The interceptor already answered the challenge; a 401 that got through is final.
      unauthorized: () => false,
      close: () => Promise.resolve({ status: "none" }),
    };
  }
  const tokens = new TokenSource({
    baseUrl: deps.baseUrl,
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    dispatcher: deps.agent,
    userAgent: deps.userAgent,
    timeouts: deps.timeouts,
    observer: deps.observer,
    now: deps.now,
  });
  return bearerAuthenticator(tokens, deps.agent, deps.now ?? Date.now);
}

/**
 * After a 401 the token is replaced at most once a minute. Atlas also answers 401 for a project
 * the account may not read: a job there must not make every cycle fetch a token for all the
 * others, spending the token budget until no job can be polled.
 */
export const MIN_REFRESH_INTERVAL_MS = 60_000;

/** The service-account Authenticator: a bearer token per request, dropped when Atlas refuses it. */
function bearerAuthenticator(
  tokens: TokenSource,
  dispatcher: Dispatcher,
  now: () => number,
): Authenticator {
  let lastRefresh = Number.NEGATIVE_INFINITY;
  return {
    dispatcher,
    async headers(signal) {
      return { authorization: `Bearer ${await tokens.getToken(signal)}` };
    },
    unauthorized(usedHeaders) {
      const used = /^Bearer (.+)$/.exec(usedHeaders["authorization"] ?? "")?.[1];
      if (!used) return false;
      // Another request already replaced that token: retrying costs no token request.
      if (tokens.currentToken() !== used) return true;
      if (now() - lastRefresh < MIN_REFRESH_INTERVAL_MS) return false;
      lastRefresh = now();
      tokens.invalidate(used);
      return true;
    },
    close() {
      return tokens.revoke();
    },
  };
}
