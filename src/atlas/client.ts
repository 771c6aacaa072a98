/**
 * The Atlas client: reads restore jobs from either endpoint family, authenticates through an
 * Authenticator, and turns every answer into a RestoreJob or a typed error. It never retries
 * except once after a 401 when fresh credentials can help; pacing and retries belong to the poller.
 */
import type { Authenticator } from "./auth.js";
import { decodePage, decodeRestoreJob } from "./decode.js";
import {
  FLEX_MAX_ITEMS_PER_PAGE,
  MEDIA_TYPES,
  restoreJobPath,
  restoreJobsPath,
} from "./endpoints.js";
import { AtlasDecodeError, AtlasHttpError, type AtlasErrorContext } from "./errors.js";
import { headerValue, parseNonNegativeInt, parseRetryAfter } from "./headers.js";
import type { ApiFamily, JobRef, RestoreJob } from "./model.js";
import {
  send,
  type RequestObserver,
  type SendRequest,
  type SendResponse,
  type Timeouts,
  type TransportOptions,
} from "./transport.js";

/** What the client needs; every IO dependency is injected. */
export interface AtlasClientOptions {
  readonly baseUrl: string;
  readonly authenticator: Authenticator;
  readonly userAgent: string;
  readonly timeouts: Timeouts;
  /** Sees every request's outcome (metrics, rate-limit and sunset headers). */
  readonly observer?: RequestObserver | undefined;
  /** Wall clock, for Retry-After dates. */
  readonly now?: () => number;
}

/** Most pages a Flex LIST may take before the client stops (a guard against a paging loop). */
const MAX_PAGES = 200;

const JSON_CONTENT_TYPE = /^application\/(?:json|vnd\.atlas\.[\w.-]+\+json)\s*(?:;|$)/i;

/** Reads restore jobs from Atlas. */
export class AtlasClient {
  readonly #options: AtlasClientOptions;
  readonly #transport: TransportOptions;

  constructor(options: AtlasClientOptions) {
    this.#options = options;
    this.#transport = { ...options, dispatcher: options.authenticator.dispatcher };
  }

  /** Reads one restore job; the answer must be that job. */
  async getRestoreJob(api: ApiFamily, ref: JobRef, signal?: AbortSignal): Promise<RestoreJob> {
    const path = restoreJobPath(api, ref);
    const context = { operation: `get ${api} restore job`, target: path };
    const body = await this.#getJson(api, path, undefined, context, signal);
    const decoded = decodeRestoreJob(api, body);
    if (!decoded.ok) throw new AtlasDecodeError(decoded.problems, context);
    if (decoded.job.id !== ref.restoreId) {
      throw new AtlasDecodeError(
        [`id: is "${decoded.job.id}", expected "${ref.restoreId}"`],
        context,
      );
    }
    return decoded.job;
  }

  /** Reads every restore job of one cluster, following every Flex page. */
  async listRestoreJobs(
    api: ApiFamily,
    groupId: string,
    clusterName: string,
    signal?: AbortSignal,
  ): Promise<RestoreJob[]> {
    const path = restoreJobsPath(api, groupId, clusterName);
    const context = { operation: `list ${api} restore jobs`, target: path };
    const jobs: RestoreJob[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const query =
        api === "flex"
          ? { pageNum: String(page), itemsPerPage: String(FLEX_MAX_ITEMS_PER_PAGE) }
          : undefined;
      const decoded = decodePage(await this.#getJson(api, path, query, context, signal));
      if (!decoded.ok) throw new AtlasDecodeError(decoded.problems, context);
      decoded.results.forEach((item, index) => {
        const job = decodeRestoreJob(api, item);
        if (!job.ok) {
          const offset = (page - 1) * FLEX_MAX_ITEMS_PER_PAGE + index;
          throw new AtlasDecodeError(
            job.problems.map((p) => `results[${offset}].${p}`),
            context,
          );
        }
        jobs.push(job.job);
      });
      const more =
        api === "flex" &&
        decoded.results.length === FLEX_MAX_ITEMS_PER_PAGE &&
        (decoded.hasNext || (decoded.totalCount ?? 0) > jobs.length);
      if (!more) return jobs;
    }
    throw new AtlasDecodeError([`more than ${MAX_PAGES} pages`], context);
  }

  async #getJson(
    api: ApiFamily,
    path: string,
    query: Record<string, string> | undefined,
    context: Omit<AtlasErrorContext, "cause">,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    const { authenticator } = this.#options;
    let response: SendResponse | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const authHeaders = await authenticator.headers(signal);
      const request: SendRequest = {
        method: "GET",
        path,
        ...(query ? { query } : {}),
        headers: { accept: MEDIA_TYPES[api], ...authHeaders },
        api,
        operation: context.operation,
        signal,
      };
      response = await send(this.#transport, request);
      if (response.status !== 401 || !authenticator.unauthorized(authHeaders)) break;
    }
    // The loop ran at least once.
    const { status, headers, body } = response as SendResponse;
    if (status < 200 || status > 299) throw this.#httpError(status, headers, body, context);
    const contentType = headerValue(headers, "content-type") ?? "";
    if (!JSON_CONTENT_TYPE.test(contentType)) {
      throw new AtlasDecodeError(
        [`content type is ${JSON.stringify(contentType.slice(0, 80))}, not JSON`],
        context,
      );
    }
    try {
      return JSON.parse(body) as unknown;
    } catch {
      throw new AtlasDecodeError(["body is not valid JSON"], context);
    }
  }

  #httpError(
    status: number,
    headers: SendResponse["headers"],
    body: string,
    context: Omit<AtlasErrorContext, "cause">,
  ): AtlasHttpError {
    const now = this.#options.now ?? Date.now;
    const retryAfterMs = parseRetryAfter(headerValue(headers, "retry-after"), now());
    const rateLimitRemaining = parseNonNegativeInt(headerValue(headers, "ratelimit-remaining"));
    return new AtlasHttpError(
      {
        status,
        ...parseApiError(body),
        ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        ...(rateLimitRemaining !== undefined ? { rateLimitRemaining } : {}),
      },
      context,
    );
  }
}

/** Longest Atlas-supplied text kept in an error, so a hostile body cannot flood the logs. */
const MAX_TEXT = 300;

/** Extracts Atlas's ApiError fields from an error body, when it is one. */
export function parseApiError(body: string): {
  errorCode?: string;
  detail?: string;
  reason?: string;
} {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return {};
  }
  if (typeof parsed !== "object" || parsed === null) return {};
  const record = parsed as Record<string, unknown>;
  const result: { errorCode?: string; detail?: string; reason?: string } = {};
  for (const key of ["errorCode", "detail", "reason"] as const) {
    const value = record[key];
    if (typeof value === "string" && value) result[key] = value.slice(0, MAX_TEXT);
  }
  return result;
}
