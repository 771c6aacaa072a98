/**
 * The HTTP edge shared by every Atlas call: one keep-alive undici dispatcher for the process
 * (through the egress proxy that HTTPS_PROXY, HTTP_PROXY and NO_PROXY name, if any), a
 * `send` that applies timeouts and the User-Agent, reads the body within a size limit, reports
 * each request to an observer (for metrics), and turns every undici failure into a typed error.
 */
import { EnvHttpProxyAgent, errors as undiciErrors, request, type Dispatcher } from "undici";
import {
  AtlasDecodeError,
  AtlasError,
  AtlasNetworkError,
  AtlasTimeoutError,
  type AtlasErrorContext,
} from "./errors.js";

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
  readonly groupId?: string;
  /** Response headers, when a response arrived. */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
}

/** Receives every request's outcome; must not throw. */
export type RequestObserver = (observation: RequestObservation) => void;

/**
 * Creates the process-wide keep-alive dispatcher. It honours the proxy variables of `env` as
 * curl does (lower case first): `HTTPS_PROXY` for https:// Atlas, `HTTP_PROXY` for http://, and
 * `NO_PROXY` (host names, domains, `*`) for hosts reached directly; none set, no proxy.
 */
export function createAgent(
  options: { connectTimeoutMs?: number; maxBodyBytes?: number } = {},
  env: Readonly<Record<string, string | undefined>> = process.env,
): Dispatcher {
  return new EnvHttpProxyAgent({
    connect: { timeout: options.connectTimeoutMs ?? DEFAULT_TIMEOUTS.connectMs },
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    maxResponseSize: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    // An empty value means "no proxy", where undici would fall back to process.env itself.
    httpProxy: env["http_proxy"] ?? env["HTTP_PROXY"] ?? "",
    httpsProxy: env["https_proxy"] ?? env["HTTPS_PROXY"] ?? "",
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
  readonly query?: Readonly<Record<string, string>>;
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
 */
export async function send<T = SendResponse>(
  options: TransportOptions,
  req: SendRequest,
  interpret: Interpret<T> = (response) => response as T,
): Promise<T> {
  const clock = options.monotonicNow ?? (() => performance.now());
  const url = new URL(req.path, options.baseUrl);
  for (const [name, value] of Object.entries(req.query ?? {})) url.searchParams.set(name, value);
  const context: AtlasErrorContext = { operation: req.operation, target: req.path };
  const started = clock();
  const observe = (code: string, headers?: SendResponse["headers"]): void => {
    options.observer?.({
      api: req.api,
      code,
      durationSeconds: (clock() - started) / 1000,
      ...(req.groupId !== undefined ? { groupId: req.groupId } : {}),
      ...(headers ? { headers } : {}),
    });
  };
  let response: SendResponse;
  let headers: SendResponse["headers"] | undefined;
  try {
    const answer = await request(url, {
      method: req.method,
      headers: { "user-agent": options.userAgent, ...req.headers },
      ...(req.body !== undefined ? { body: req.body } : {}),
      dispatcher: req.dispatcher ?? options.dispatcher,
      headersTimeout: options.timeouts.headersMs,
      bodyTimeout: options.timeouts.bodyMs,
      ...(req.signal ? { signal: req.signal } : {}),
    });
    headers = answer.headers;
    response = { status: answer.statusCode, headers, body: await answer.body.text() };
  } catch (error) {
    if (req.signal?.aborted) {
      observe("aborted", headers);
      throw req.signal.reason;
    }
    const mapped = toAtlasError(error, context, options.timeouts);
    observe(mapped.metricCode, headers);
    throw mapped;
  }
  let value: T;
  try {
    value = interpret(response);
  } catch (error) {
    observe(error instanceof AtlasError ? error.metricCode : String(response.status), headers);
    throw error;
  }
  observe(String(response.status), headers);
  return value;
}

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
