/**
 * The HTTP edge shared by every Atlas call: one keep-alive undici dispatcher for the process
 * (through the egress proxy that HTTPS_PROXY, HTTP_PROXY and NO_PROXY name, if any), a
 * `send` that applies timeouts and the User-Agent, reads the body within a size limit, reports
 * each request to an observer (for metrics), and turns every undici failure into a typed error.
 */
import { Agent, EnvHttpProxyAgent, errors as undiciErrors, type Dispatcher } from "undici";
import {
  AtlasDecodeError,
  AtlasError,
  AtlasNetworkError,
  AtlasTimeoutError,
  type AtlasErrorContext,
} from "./errors.js";
import { Slots } from "../slots.js";

/** Timeouts of one request; undici's own defaults are 300 s, far too long for a poller. */
export interface Timeouts {
  readonly connectMs: number;
  readonly headersMs: number;
  readonly bodyMs: number;
}

/** Defaults of at most 30 s each. */
export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000 };

/** Largest response body accepted; a restore job is about 1 KiB, a page of 500 about 500 KiB. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * Which remote API a request went to, as the `api` label of the request metrics: a restore-job
 * family, a discovery listing (`projects`, `flexClusters`) or the token endpoint.
 */
export type RequestApi =
  "tenant" | "flex" | "dedicated" | "projects" | "flexClusters" | "clusters" | "oauth";

/** One finished request (or attempt), as the metrics see it. */
export interface RequestObservation {
  readonly api: RequestApi;
  /** An HTTP status, or `timeout`, `network`, `decode`. */
  readonly code: string;
  readonly durationSeconds: number;
  /** The project (or, for `projects`, the organization) the request was about, for rate limits. */
  readonly groupId?: string | undefined;
  /** Response headers, when a response arrived. */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>> | undefined;
}

/** Receives every request's outcome; must not throw. */
export type RequestObserver = (observation: RequestObservation) => void;

/**
 * Creates the process-wide keep-alive dispatcher. It honours the proxy variables of `env` as
 * curl does (lower case first): `HTTPS_PROXY` for https:// Atlas, `HTTP_PROXY` for http://, and
 * `NO_PROXY` (host names, domains, `*`) for hosts reached directly; none set, no proxy, and a
 * plain Agent, since the proxy agent would parse every request's origin only to go direct.
 */
export function createAgent(
  options: { connectTimeoutMs?: number; maxBodyBytes?: number } = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): Dispatcher {
  const agentOptions = {
    connect: { timeout: options.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectMs },
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    maxResponseSize: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
  };
  // An empty value means "no proxy", where undici would fall back to process.env itself.
  const httpProxy = env["http_proxy"] ?? env["HTTP_PROXY"] ?? "";
  const httpsProxy = env["https_proxy"] ?? env["HTTPS_PROXY"] ?? "";
  if (httpProxy === "" && httpsProxy === "") return new Agent(agentOptions);
  return new EnvHttpProxyAgent({
    ...agentOptions,
    httpProxy,
    httpsProxy,
    noProxy: env["no_proxy"] ?? env["NO_PROXY"] ?? "",
  });
}

/** What `send` needs besides the request itself. */
export interface TransportOptions {
  readonly baseUrl: string;
  readonly dispatcher: Dispatcher;
  readonly userAgent: string;
  readonly timeouts: Timeouts;
  readonly observer?: RequestObserver | undefined;
  /** The clock, for durations; defaults to performance.now(). */
  readonly monotonicNow?: () => number;
}

/** One request to send. */
export interface SendRequest {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly query?: Readonly<Record<string, string>> | undefined;
  /** Sent with the User-Agent; an object passed again is merged with it only once. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly api: RequestApi;
  readonly operation: string;
  /** The project the request is about (Atlas's rate limits are per project). */
  readonly groupId?: string;
  readonly signal?: AbortSignal | undefined;
  /** A different dispatcher for this request (e.g. one with digest authentication). */
  readonly dispatcher?: Dispatcher;
}

/** A response whose body was read in full. */
export interface SendResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/** Turns a response into the caller's value, or throws the AtlasError it amounts to. */
export type Interpret<T> = (response: SendResponse) => T;

/**
 * Sends one request, reads its body and hands it to `interpret`. The request is reported to the
 * observer once, with the outcome as the metrics count it: the HTTP status, or the `metricCode`
 * of the AtlasError that the transport or `interpret` raised (so a 200 whose body is not a job
 * counts as `decode`). Rejects only with an AtlasError or with the signal's abort reason.
 *
 * It dispatches on undici's handler interface and collects the body's chunks itself: undici's
 * `request()` wraps each answer in a Readable stream and an async resource, which cost a steady
 * poll more CPU than everything else it does with the answer.
 */
export async function send<T = SendResponse>(
  options: TransportOptions,
  req: SendRequest,
  interpret: Interpret<T> = (response) => response as T,
): Promise<T> {
  const clock = options.monotonicNow ?? monotonicNow;
  const started = clock();
  const exchange = new Exchange(req.signal);
  let response: SendResponse;
  try {
    response = await exchange.send(req.dispatcher ?? options.dispatcher, {
      origin: originOf(options.baseUrl),
      path: req.query ? `${req.path}?${new URLSearchParams(req.query).toString()}` : req.path,
      method: req.method,
      headers: withUserAgent(req.headers, options.userAgent),
      body: req.body ?? null,
      headersTimeout: options.timeouts.headersMs,
      bodyTimeout: options.timeouts.bodyMs,
    });
  } catch (error) {
    const headers = exchange.headers;
    if (req.signal?.aborted) {
      report(options, req, "aborted", clock() - started, headers);
      throw req.signal.reason;
    }
    const mapped = toAtlasError(
      error,
      { operation: req.operation, target: req.path },
      options.timeouts,
    );
    report(options, req, mapped.metricCode, clock() - started, headers);
    throw mapped;
  }
  let value: T;
  try {
    value = interpret(response);
  } catch (error) {
    const code = error instanceof AtlasError ? error.metricCode : String(response.status);
    report(options, req, code, clock() - started, response.headers);
    throw error;
  }
  report(options, req, String(response.status), clock() - started, response.headers);
  return value;
}

/** Request headers with the User-Agent, by the headers object given and the agent's name. */
const withAgent = new WeakMap<Readonly<Record<string, string>>, Record<string, string>>();

function withUserAgent(
  headers: Readonly<Record<string, string>>,
  userAgent: string,
): Record<string, string> {
  let merged = withAgent.get(headers);
  if (merged === undefined || merged["user-agent"] !== userAgent) {
    merged = { "user-agent": userAgent, ...headers };
    withAgent.set(headers, merged);
  }
  return merged;
}

function monotonicNow(): number {
  return performance.now();
}

/** Tells the observer, if any, how a request ended. */
function report(
  options: TransportOptions,
  req: SendRequest,
  code: string,
  elapsedMs: number,
  headers: SendResponse["headers"] | undefined,
): void {
  options.observer?.({
    api: req.api,
    code,
    durationSeconds: elapsedMs / 1000,
    groupId: req.groupId,
    headers,
  });
}

/** The origin of each base URL seen (a process has one or two). */
const origins = new Map<string, string>();

function originOf(baseUrl: string): string {
  let origin = origins.get(baseUrl);
  if (origin === undefined) {
    origin = new URL(baseUrl).origin;
    origins.set(baseUrl, origin);
  }
  return origin;
}

/**
 * The exchanges in flight under one abort signal; one listener per signal aborts them all (a
 * listener per request would cost more CPU and keep garbage alive, see Slots).
 */
class InFlight extends Slots<Exchange> {
  constructor(signal: AbortSignal) {
    super();
    signal.addEventListener(
      "abort",
      () => this.forEach((exchange) => exchange.abort(signal.reason as Error)),
      { once: true },
    );
  }
}

const inFlight = new WeakMap<AbortSignal, InFlight>();

function watch(signal: AbortSignal): InFlight {
  let exchanges = inFlight.get(signal);
  if (exchanges === undefined) {
    exchanges = new InFlight(signal);
    inFlight.set(signal, exchanges);
  }
  return exchanges;
}

/** One request and its answer, collected in full, as undici's dispatch handler. */
class Exchange implements Dispatcher.DispatchHandler {
  headers: SendResponse["headers"] | undefined;
  #status = 0;
  readonly #chunks: Buffer[] = [];
  readonly #signal: AbortSignal | undefined;
  #controller: Dispatcher.DispatchController | undefined;
  /** Why the exchange was aborted before undici started it. */
  #abortReason: Error | undefined;
  /** The exchanges under the same signal, and this one's slot there until it is over. */
  #watched: InFlight | undefined;
  #slot = -1;
  #resolve: (response: SendResponse) => void = noop;
  #reject: (error: unknown) => void = noop;

  constructor(signal: AbortSignal | undefined) {
    this.#signal = signal;
  }

  send(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions): Promise<SendResponse> {
    const signal = this.#signal;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<SendResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      if (signal) {
        this.#watched = watch(signal);
        this.#slot = this.#watched.hold(this);
      }
      try {
        dispatcher.dispatch(options, this);
      } catch (error) {
        this.#settle();
        reject(error);
      }
    });
  }

  /** Stops watching the signal: the exchange is over. */
  #settle(): void {
    this.#watched?.release(this.#slot);
    this.#watched = undefined;
  }

  abort(reason: Error): void {
    if (this.#controller) this.#controller.abort(reason);
    else this.#abortReason = reason;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    if (this.#abortReason !== undefined) {
      controller.abort(this.#abortReason);
      return;
    }
    this.#controller = controller;
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: SendResponse["headers"],
  ): void {
    // 1xx answers are interim; the final one follows.
    if (statusCode < 200) return;
    this.#status = statusCode;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.#settle();
    const chunks = this.#chunks;
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    // As undici's `text()`: UTF-8, a byte order mark dropped.
    const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    this.#resolve({
      status: this.#status,
      headers: this.headers ?? {},
      body: bytes.toString("utf8", bom),
    });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#settle();
    this.#reject(error);
  }
}

function noop(): void {}

/** Maps an undici or system error onto the typed errors. */
export function toAtlasError(
  error: unknown,
  context: Omit<AtlasErrorContext, "cause">,
  timeouts: Timeouts,
): AtlasError {
  const withCause = { ...context, cause: error };
  if (error instanceof undiciErrors.ConnectTimeoutError) {
    return new AtlasTimeoutError("connect", timeouts.connectMs, withCause);
  }
  if (error instanceof undiciErrors.HeadersTimeoutError) {
    return new AtlasTimeoutError("headers", timeouts.headersMs, withCause);
  }
  if (error instanceof undiciErrors.BodyTimeoutError) {
    return new AtlasTimeoutError("body", timeouts.bodyMs, withCause);
  }
  if (error instanceof undiciErrors.ResponseExceededMaxSizeError) {
    return new AtlasDecodeError(["response body exceeds the size limit"], withCause);
  }
  const code = errorCode(error);
  const description = describe(error, code);
  return new AtlasNetworkError(code, description, withCause);
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  // undici wraps system errors (ECONNREFUSED, ENOTFOUND) in its own; prefer the innermost code.
  let found: string | undefined;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") found = code;
    current = current.cause;
  }
  return found;
}

function describe(error: unknown, code: string | undefined): string {
  switch (code) {
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name could not be resolved";
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
      return "connection reset";
    case "UND_ERR_SOCKET":
      return "the connection closed before the answer was complete";
    case "UND_ERR_RES_CONTENT_LENGTH_MISMATCH":
      return "the body did not match its Content-Length";
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
