/**
 * How the Atlas client authenticates, whichever credentials were configured: an API key through
 * the Digest interceptor on the dispatcher, a service account through a cached bearer token.
 */
import type { Dispatcher } from "undici";
import type { Credentials } from "../config/settings.js";
import { digestAuth } from "./digest-interceptor.js";
import { TokenSource, type RevokeOutcome } from "./oauth.js";
import type { RequestObserver, Timeouts } from "./transport.js";

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** How API requests get authenticated. */
export interface Authenticator {
  /** The dispatcher API requests go through (digest: the agent composed with digestAuth). */
  readonly dispatcher: Dispatcher;
  /**
   * Extra request headers (bearer: Authorization), at once when they are at hand. The same
   * credentials give the same object, which must not be changed.
   */
  headers(
    signal?: AbortSignal,
  ): Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>;
  /** Called after a 401 on an API request that used `usedHeaders`; true when one retry with fresh credentials makes sense. */
  unauthorized(usedHeaders: Readonly<Record<string, string>>): boolean;
  /**
   * Releases credentials (bearer: revoke the token) and says how that went; `signal` bounds the
   * wait. Never throws.
   */
  close(signal?: AbortSignal): Promise<RevokeOutcome>;
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
      headers: () => NO_HEADERS,
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
  return bearerAuthenticator(tokens, deps.agent);
}

/**
 * The service-account Authenticator: a bearer token per request. Atlas answers 401 both for a
 * token it no longer accepts and for a project the account may not read, so a 401 to a fresh
 * token (see FRESH_TOKEN_MS) stands: that job's poll fails, and no token is bought for it. A 401
 * to an older token replaces it once (the token source revokes the one it drops), so a job that is
 * always refused costs at most one token a minute and the account never holds more than two.
 */
function bearerAuthenticator(tokens: TokenSource, dispatcher: Dispatcher): Authenticator {
  // The headers of the last token, kept: a steady poll reuses them instead of building a header
  // of a kilobyte or more each time.
  let last: { readonly token: string; readonly headers: Readonly<Record<string, string>> } = {
    token: "",
    headers: NO_HEADERS,
  };
  const headersOf = (token: string): Readonly<Record<string, string>> => {
    if (last.token !== token) last = { token, headers: { authorization: `Bearer ${token}` } };
    return last.headers;
  };
  return {
    dispatcher,
    headers(signal) {
      const usable = signal?.aborted ? undefined : tokens.usableToken();
      return usable !== undefined ? headersOf(usable) : tokens.getToken(signal).then(headersOf);
    },
    unauthorized(usedHeaders) {
      const used = /^Bearer (.+)$/.exec(usedHeaders["authorization"] ?? "")?.[1];
      if (!used) return false;
      const current = tokens.currentToken();
      // Another request already replaced that token: retrying costs no token request.
      if (current !== undefined && current !== used) return true;
      if (tokens.isFresh(used)) return false;
      tokens.invalidate(used);
      return true;
    },
    close(signal) {
      return tokens.revoke(signal);
    },
  };
}
