/**
 * Typed errors for everything that can go wrong talking to Atlas. Each has a stable `code` to
 * branch on, names the operation and the path in its message, keeps the original in `cause`,
 * and never carries a credential, token or Authorization header.
 */

/** Stable codes of the errors below. */
export type AtlasErrorCode =
  | "ATLAS_HTTP_ERROR"
  | "ATLAS_TIMEOUT"
  | "ATLAS_NETWORK_ERROR"
  | "ATLAS_DECODE_ERROR"
  | "ATLAS_AUTH_ERROR";

/** Where an error happened: what was attempted, against which path (never a query secret). */
export interface AtlasErrorContext {
  readonly operation: string;
  readonly target: string;
  readonly cause?: unknown;
}

/** Base class of every Atlas error. */
export abstract class AtlasError extends Error {
  abstract readonly code: AtlasErrorCode;
  /** What was attempted, e.g. "get flex restore job". */
  readonly operation: string;
  /** The request path (without host or query). */
  readonly target: string;

  protected constructor(message: string, context: AtlasErrorContext) {
    super(`${context.operation} ${context.target}: ${message}`, { cause: context.cause });
    this.name = new.target.name;
    this.operation = context.operation;
    this.target = context.target;
  }

  /** The `code` label of `atlas_restore_api_requests_total`: an HTTP status or an error class. */
  abstract get metricCode(): string;

  /** A short, bounded description of the kind of failure, used to log a change of kind once. */
  abstract get kind(): string;
}

/** Atlas's error body (ApiError), kept as Atlas sent it. */
export interface AtlasErrorBody {
  readonly errorCode?: string;
  readonly detail?: string;
  readonly reason?: string;
}

/** Details of an HTTP error answer. */
export interface AtlasHttpErrorDetails extends AtlasErrorBody {
  readonly status: number;
  /** How long Atlas asked us to wait (Retry-After), in milliseconds. */
  readonly retryAfterMs?: number;
  /** Atlas's RateLimit-Remaining header. */
  readonly rateLimitRemaining?: number;
}

/** Atlas answered with a non-2xx status. */
export class AtlasHttpError extends AtlasError {
  readonly code = "ATLAS_HTTP_ERROR";
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly detail: string | undefined;
  readonly reason: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly rateLimitRemaining: number | undefined;

  constructor(details: AtlasHttpErrorDetails, context: AtlasErrorContext) {
    const what = [details.errorCode, details.detail].filter(Boolean).join(": ");
    super(`HTTP ${details.status}${what ? ` ${what}` : ""}`, context);
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.detail = details.detail;
    this.reason = details.reason;
    this.retryAfterMs = details.retryAfterMs;
    this.rateLimitRemaining = details.rateLimitRemaining;
  }

  get metricCode(): string {
    return String(this.status);
  }

  get kind(): string {
    return this.errorCode ? `http_${this.status}_${this.errorCode}` : `http_${this.status}`;
  }
}

/** Which phase of a request ran out of time. */
export type TimeoutPhase = "connect" | "headers" | "body";

/** A request took longer than its configured connect, headers or body timeout. */
export class AtlasTimeoutError extends AtlasError {
  readonly code = "ATLAS_TIMEOUT";
  readonly phase: TimeoutPhase;

  constructor(phase: TimeoutPhase, timeoutMs: number, context: AtlasErrorContext) {
    super(`${phase} timeout after ${timeoutMs} ms`, context);
    this.phase = phase;
  }

  get metricCode(): string {
    return "timeout";
  }

  get kind(): string {
    return `timeout_${this.phase}`;
  }
}

/** The connection failed: DNS, refused, reset, closed mid-answer. */
export class AtlasNetworkError extends AtlasError {
  readonly code = "ATLAS_NETWORK_ERROR";
  /** The system or undici error code, e.g. ECONNRESET or ENOTFOUND, when known. */
  readonly causeCode: string | undefined;

  constructor(causeCode: string | undefined, description: string, context: AtlasErrorContext) {
    super(`network error${causeCode ? ` ${causeCode}` : ""}: ${description}`, context);
    this.causeCode = causeCode;
  }

  get metricCode(): string {
    return "network";
  }

  get kind(): string {
    return this.causeCode ? `network_${this.causeCode}` : "network";
  }
}

/** Atlas answered 2xx with something that is not the expected document. */
export class AtlasDecodeError extends AtlasError {
  readonly code = "ATLAS_DECODE_ERROR";
  /** What was wrong, one entry per problem. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], context: AtlasErrorContext) {
    super(`unexpected response: ${problems.join("; ")}`, context);
    this.problems = problems;
  }

  get metricCode(): string {
    return "decode";
  }

  get kind(): string {
    return "decode";
  }
}

/** Credentials could not be used or obtained without a request failing (e.g. token budget spent). */
export class AtlasAuthError extends AtlasError {
  readonly code = "ATLAS_AUTH_ERROR";

  constructor(message: string, context: AtlasErrorContext) {
    super(message, context);
  }

  get metricCode(): string {
    return "auth";
  }

  get kind(): string {
    return "auth";
  }
}

/** Narrows an unknown value to an AtlasError. */
export function isAtlasError(value: unknown): value is AtlasError {
  return value instanceof AtlasError;
}
