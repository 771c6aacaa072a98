/**
 * HTTP Digest authentication as an undici 7 interceptor (`agent.compose(digestAuth(…))`).
 *
 * Unlike MongoDB's Go transport, which sends every request twice (unsigned, then signed), this
 * keeps the last challenge of each origin and signs every request up front with the cached nonce
 * and the next nonce count, so a steady poll costs one round trip per request. Before the first
 * challenge, one request goes unsigned to fetch it and the others wait for it (a single flight),
 * so N concurrent first requests cost N + 1 round trips, not 2N. A 401 is answered
 * at most once per request: when the request went unsigned, with an outdated nonce, or the server
 * says the nonce is stale. A 401 to a request signed with the current nonce means the credentials
 * are wrong and reaches the caller unchanged.
 */
import { randomBytes } from "node:crypto";
import { stringify as stringifyQuery } from "node:querystring";
import type { Duplex } from "node:stream";
import type { Dispatcher } from "undici";
import {
  formatDigestAuthorization,
  formatNonceCount,
  parseDigestChallenge,
  type DigestChallenge,
} from "./digest.js";

/** The API key as Digest credentials: public key as user name, private key as password. */
export interface DigestCredentials {
  readonly username: string;
  readonly password: string;
}

/** Test seams of the interceptor. */
export interface DigestAuthOptions {
  /** Produces the client nonce of each request; defaults to 16 random bytes in hex. */
  readonly cnonce?: () => string;
}

type Headers = Record<string, string | string[]>;
type ResponseHeaders = Record<string, string | string[] | undefined>;
type RawHeaders = Exclude<Dispatcher.DispatchController["rawHeaders"], undefined>;

/** What this origin last challenged with, and how many requests were signed with its nonce. */
interface OriginState {
  readonly challenge: DigestChallenge;
  count: number;
}

// `nc` is 8 hex digits; past that, start over with a fresh challenge.
const MAX_NONCE_COUNT = 0xffffffff;

/**
 * Creates the Digest interceptor. Requests with a stream body (not replayable), with an
 * Authorization header of their own, or without an origin pass through untouched. Neither the
 * password nor the Authorization value ever enters an error or a log line.
 */
export function digestAuth(
  credentials: DigestCredentials,
  options: DigestAuthOptions = {},
): Dispatcher.DispatcherComposeInterceptor {
  const cnonce = options.cnonce ?? (() => randomBytes(16).toString("hex"));
  const origins = new Map<string, OriginState>();
  /** Origins whose first challenge one request is fetching; the others wait on `ready`. */
  const probes = new Map<string, { readonly ready: Promise<void>; readonly release: () => void }>();

  const auth: DigestAuthority = {
    sign(origin, method, uri) {
      const state = origins.get(origin);
      if (!state || state.count >= MAX_NONCE_COUNT) return undefined;
      // Concurrent requests share the nonce; each takes the next count, as RFC 7616 requires.
      state.count += 1;
      const { challenge } = state;
      const authorization = formatDigestAuthorization(
        {
          algorithm: challenge.algorithm,
          username: credentials.username,
          password: credentials.password,
          realm: challenge.realm,
          method,
          uri,
          nonce: challenge.nonce,
          nc: formatNonceCount(state.count),
          cnonce: cnonce(),
          qop: "auth",
        },
        challenge.opaque,
      );
      return { authorization, nonce: challenge.nonce };
    },
    admit(origin) {
      if (origins.has(origin)) return "sign";
      const probe = probes.get(origin);
      if (probe) return probe.ready;
      let release = (): void => undefined;
      const ready = new Promise<void>((resolve) => (release = resolve));
      probes.set(origin, { ready, release });
      return "probe";
    },
    settle(origin) {
      const probe = probes.get(origin);
      probes.delete(origin);
      probe?.release();
    },
    learn(origin, challenge) {
      // A nonce already known (another request got the same challenge) keeps its count: reusing
      // an `nc` with the same nonce would look like a replay to the server.
      if (origins.get(origin)?.challenge.nonce === challenge.nonce) return;
      origins.set(origin, { challenge, count: 0 });
    },
  };

  return (dispatch) =>
    function digestInterceptor(opts, handler) {
      const prepared = prepare(opts);
      if (!prepared) return dispatch(opts, handler);
      return new DigestHandler(auth, dispatch, prepared, handler).start();
    };
}

/** The shared per-origin state, as one request sees it. */
interface DigestAuthority {
  /** Signs with the origin's cached challenge and next count; undefined without one. */
  sign(
    origin: string,
    method: string,
    uri: string,
  ): { authorization: string; nonce: string } | undefined;
  /** Records a challenge the origin sent. */
  learn(origin: string, challenge: DigestChallenge): void;
  /**
   * Whether a request may go now: "sign" when a challenge is known, "probe" when it is the one
   * to fetch the first challenge, or a promise that resolves once that probe has its answer.
   */
  admit(origin: string): "sign" | "probe" | Promise<void>;
  /** The probe of `origin` has its answer (or failed): the requests waiting on it go. */
  settle(origin: string): void;
}

/** A request this interceptor can sign and replay. */
interface PreparedRequest {
  readonly origin: string;
  /** The request-target as sent on the wire, query included: the digest `uri`. */
  readonly path: string;
  readonly headers: Headers;
  readonly opts: Dispatcher.DispatchOptions;
}

function prepare(opts: Dispatcher.DispatchOptions): PreparedRequest | undefined {
  if (opts.origin === undefined || opts.upgrade || opts.method === "CONNECT") return undefined;
  const body = opts.body;
  if (body != null && typeof body !== "string" && !(body instanceof Uint8Array)) return undefined;
  const headers = headerRecord(opts.headers);
  if (!headers || Object.keys(headers).some((name) => name.toLowerCase() === "authorization")) {
    return undefined;
  }
  // Fold the query into the path (as undici would) so that the signed uri is what is sent.
  const query = opts.query != null ? stringifyQuery(opts.query) : "";
  const path = query ? `${opts.path}${opts.path.includes("?") ? "&" : "?"}${query}` : opts.path;
  const rest: Dispatcher.DispatchOptions = { ...opts, path, headers };
  delete rest.query;
  return { origin: new URL(opts.origin).origin, path, headers, opts: rest };
}

/** Copies undici's header shapes (object, flat list, pairs) into a plain object; undefined if odd. */
function headerRecord(headers: Dispatcher.DispatchOptions["headers"]): Headers | undefined {
  const record: Headers = {};
  if (headers == null) return record;
  const add = (name: unknown, value: unknown): boolean => {
    if (typeof name !== "string") return false;
    if (value === undefined) return true;
    if (typeof value !== "string" && !isStringArray(value)) return false;
    record[name] = value;
    return true;
  };
  if (Array.isArray(headers) && !Array.isArray(headers[0])) {
    const flat: readonly unknown[] = headers;
    for (let i = 0; i < flat.length; i += 2) if (!add(flat[i], flat[i + 1])) return undefined;
    return record;
  }
  const entries: Iterable<unknown> =
    Symbol.iterator in headers ? (headers as Iterable<unknown>) : Object.entries(headers);
  for (const entry of entries) {
    if (!Array.isArray(entry) || !add(entry[0], entry[1])) return undefined;
  }
  return record;
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

/**
 * The controller the caller's handler holds for the whole exchange, whichever attempt is on the
 * wire: pause, resume and abort reach the current attempt, and an abort between attempts is not
 * lost.
 */
class ExchangeController implements Dispatcher.DispatchController {
  #target: Dispatcher.DispatchController | undefined;
  #paused = false;
  #reason: Error | undefined;

  attach(target: Dispatcher.DispatchController): void {
    this.#target = target;
    if (this.#reason !== undefined) target.abort(this.#reason);
    else if (this.#paused) target.pause();
  }

  get aborted(): boolean {
    return this.#reason !== undefined || (this.#target?.aborted ?? false);
  }

  get paused(): boolean {
    return this.#paused || (this.#target?.paused ?? false);
  }

  get reason(): Error | null {
    return this.#reason ?? this.#target?.reason ?? null;
  }

  get rawHeaders(): RawHeaders {
    return this.#target?.rawHeaders ?? null;
  }

  get rawTrailers(): RawHeaders {
    return this.#target?.rawTrailers ?? null;
  }

  /** The abort reason, if the caller aborted. */
  get abortReason(): Error | undefined {
    return this.#reason;
  }

  abort(reason: Error): void {
    this.#reason ??= reason;
    this.#target?.abort(reason);
  }

  pause(): void {
    this.#paused = true;
    this.#target?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#target?.resume();
  }
}

/** Drives one request: signs it, answers one challenge, forwards everything else. */
class DigestHandler implements Dispatcher.DispatchHandler {
  readonly #auth: DigestAuthority;
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #request: PreparedRequest;
  readonly #handler: Dispatcher.DispatchHandler;
  readonly #controller = new ExchangeController();
  #started = false;
  #retried = false;
  /** The nonce the attempt on the wire was signed with; undefined when it went unsigned. */
  #sentNonce: string | undefined;
  /** The attempt on the wire got a challenge we answer: its 401 is swallowed. */
  #swallowing = false;
  /** This request fetches the origin's first challenge; others wait until it settles. */
  #probe = false;

  constructor(
    auth: DigestAuthority,
    dispatch: Dispatcher.Dispatch,
    request: PreparedRequest,
    handler: Dispatcher.DispatchHandler,
  ) {
    this.#auth = auth;
    this.#dispatch = dispatch;
    this.#request = request;
    this.#handler = handler;
  }

  /**
   * Sends the first attempt, signed when the origin's challenge is known. Without one, the first
   * request goes unsigned to fetch it, and the others are sent once it is in.
   */
  start(): boolean {
    const admitted = this.#auth.admit(this.#request.origin);
    if (admitted === "sign" || admitted === "probe") {
      this.#probe = admitted === "probe";
      try {
        return this.#dispatch(this.#signedOptions(), this);
      } catch (error) {
        this.#settle();
        throw error;
      }
    }
    void admitted.then(() => {
      const aborted = this.#controller.abortReason;
      if (aborted !== undefined) {
        this.#handler.onResponseError?.(this.#controller, aborted);
        return;
      }
      try {
        this.#dispatch(this.#signedOptions(), this);
      } catch (error) {
        this.#handler.onResponseError?.(
          this.#controller,
          error instanceof Error ? error : new Error(String(error)),
        );
      }
    });
    return true;
  }

  /** Lets the requests waiting for this probe go. */
  #settle(): void {
    if (!this.#probe) return;
    this.#probe = false;
    this.#auth.settle(this.#request.origin);
  }

  #signedOptions(): Dispatcher.DispatchOptions {
    const { origin, path, headers, opts } = this.#request;
    const signed = this.#auth.sign(origin, opts.method, path);
    this.#sentNonce = signed?.nonce;
    if (!signed) return opts;
    return { ...opts, headers: { ...headers, authorization: signed.authorization } };
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#controller.attach(controller);
    if (this.#started) return;
    this.#started = true;
    this.#handler.onRequestStart?.(this.#controller, context);
  }

  onRequestUpgrade(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: ResponseHeaders,
    socket: Duplex,
  ): void {
    this.#handler.onRequestUpgrade?.(this.#controller, statusCode, headers, socket);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: ResponseHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode === 401) {
      const challenge = parseDigestChallenge(headers["www-authenticate"]);
      if (challenge) {
        this.#auth.learn(this.#request.origin, challenge);
        this.#settle();
        const outdated =
          this.#sentNonce === undefined || this.#sentNonce !== challenge.nonce || challenge.stale;
        if (outdated && !this.#retried) {
          this.#swallowing = true;
          return;
        }
      }
    }
    this.#settle();
    this.#handler.onResponseStart?.(this.#controller, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#swallowing) return;
    this.#handler.onResponseData?.(this.#controller, chunk);
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: ResponseHeaders): void {
    if (!this.#swallowing) {
      this.#handler.onResponseEnd?.(this.#controller, trailers);
      return;
    }
    this.#swallowing = false;
    this.#retried = true;
    const aborted = this.#controller.abortReason;
    if (aborted !== undefined) {
      this.#handler.onResponseError?.(this.#controller, aborted);
      return;
    }
    try {
      this.#dispatch(this.#signedOptions(), this);
    } catch (error) {
      this.#handler.onResponseError?.(
        this.#controller,
        error instanceof Error ? error : new Error(String(error)),
      );
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    this.#settle();
    this.#swallowing = false;
    this.#handler.onResponseError?.(this.#controller, error);
  }
}
