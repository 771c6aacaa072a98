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

/** Marks an answer that is retried with fresh credentials. */
const RETRY = Symbol("retry");

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
    return this.#get(api, ref.groupId, path, undefined, context, signal, (body) => {
      const decoded = decodeRestoreJob(api, body);
      if (!decoded.ok) throw new AtlasDecodeError(decoded.problems, context);
      if (decoded.job.id !== ref.restoreId) {
        throw new AtlasDecodeError(
          [`id: is "${decoded.job.id}", expected "${ref.restoreId}"`],
          context,
        );
      }
      return decoded.job;
    });
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
      const decoded = await this.#get(api, groupId, path, query, context, signal, (body) => {
        const page = decodePage(body);
        if (!page.ok) throw new AtlasDecodeError(page.problems, context);
        const items = page.results.map((item, index) => {
          const job = decodeRestoreJob(api, item);
          if (!job.ok) {
            const offset = jobs.length + index;
            throw new AtlasDecodeError(
              job.problems.map((p) => `results[${offset}].${p}`),
              context,
            );
          }
          return job.job;
        });
        return { ...page, items };
      });
      jobs.push(...decoded.items);
      const more =
        api === "flex" &&
        decoded.items.length === FLEX_MAX_ITEMS_PER_PAGE &&
        (decoded.hasNext || (decoded.totalCount ?? 0) > jobs.length);
      if (!more) return jobs;
    }
    throw new AtlasDecodeError([`more than ${MAX_PAGES} pages`], context);
  }

  /**
   * GETs a JSON document and decodes it with `decode`, retrying once after a 401 when the
   * authenticator can get fresh credentials. Errors are counted as the metrics see them.
   */
  async #get<T>(
    api: ApiFamily,
    groupId: string,
    path: string,
    query: Record<string, string> | undefined,
    context: Omit<AtlasErrorContext, "cause">,
    signal: AbortSignal | undefined,
    decode: (body: unknown) => T,
  ): Promise<T> {
    const { authenticator } = this.#options;
    for (let attempt = 0; ; attempt++) {
      const authHeaders = await authenticator.headers(signal);
      const request: SendRequest = {
        method: "GET",
        path,
        ...(query ? { query } : {}),
        headers: { accept: MEDIA_TYPES[api], ...authHeaders },
        api,
        operation: context.operation,
        groupId,
        signal,
      };
      const outcome = await send(this.#transport, request, (response) => {
        if (response.status === 401 && attempt === 0 && authenticator.unauthorized(authHeaders)) {
          return RETRY;
        }
        return { value: decode(this.#json(response, context)) };
      });
      if (outcome !== RETRY) return outcome.value;
    }
  }

  /** Checks the status and content type of an answer and parses its JSON body. */
  #json(response: SendResponse, context: Omit<AtlasErrorContext, "cause">): unknown {
    const { status, headers, body } = response;
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
