/**
 * The Atlas client: reads restore jobs from any endpoint family and the listings that discover
 * them (an organization's projects, a project's Flex clusters), authenticates through an
 * Authenticator, and turns every answer into a RestoreJob or a typed error. It never retries
 * except once after a 401 when fresh credentials can help; pacing and retries belong to the poller.
 */
import type { Authenticator } from "./auth.js";
import { decodeClusterSummary, type ClusterSummary } from "./decode-clusters.js";
import {
  decodeFlexCluster,
  decodePage,
  decodeProject,
  decodeRestoreJob,
  type FlexClusterSummary,
  type ProjectSummary,
} from "./decode.js";
import {
  FLEX_MAX_ITEMS_PER_PAGE,
  LISTING_MEDIA_TYPES,
  MAX_ITEMS_PER_PAGE,
  MEDIA_TYPES,
  clustersPath,
  flexClustersPath,
  orgProjectsPath,
  restoreJobPath,
  restoreJobsPath,
  type Listing,
} from "./endpoints.js";
import { AtlasDecodeError, AtlasHttpError, type AtlasErrorContext } from "./errors.js";
import { headerValue, parseNonNegativeInt, parseRetryAfter } from "./headers.js";
import type { ApiFamily, JobRef, RestoreJob } from "./model.js";
import {
  send,
  type RequestApi,
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

/** What a paged read of a cluster's Flex restore jobs returned. */
export interface RestoreJobPages {
  /** The jobs of the pages read, newest first as Atlas lists them. */
  readonly jobs: readonly RestoreJob[];
  /** Pages requested. */
  readonly pages: number;
  /** True when the last page read was the last one (a short page). */
  readonly complete: boolean;
}

/** The operation named in the errors of a job's GET, by family. */
const GET_OPERATIONS: Readonly<Record<ApiFamily, string>> = {
  tenant: "get tenant restore job",
  flex: "get flex restore job",
  dedicated: "get dedicated restore job",
};

/** Marks an answer that is retried with fresh credentials. */
const RETRY = Symbol("retry");

/** Reads restore jobs from Atlas. */
export class AtlasClient {
  readonly #options: AtlasClientOptions;
  readonly #transport: TransportOptions;
  /** Request headers by the credentials' headers (see Authenticator.headers) and media type. */
  readonly #requestHeaders = new WeakMap<
    Readonly<Record<string, string>>,
    Map<string, Readonly<Record<string, string>>>
  >();

  constructor(options: AtlasClientOptions) {
    this.#options = options;
    this.#transport = { ...options, dispatcher: options.authenticator.dispatcher };
  }

  /** Reads one restore job; the answer must be that job. */
  async getRestoreJob(api: ApiFamily, ref: JobRef, signal?: AbortSignal): Promise<RestoreJob> {
    const path = restoreJobPath(api, ref);
    const context = { operation: GET_OPERATIONS[api], target: path };
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

  /** Reads every restore job of one cluster, following every Flex or dedicated page. */
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
      const paged = api !== "tenant";
      const query = paged
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
        paged &&
        decoded.items.length === FLEX_MAX_ITEMS_PER_PAGE &&
        (decoded.hasNext || (decoded.totalCount ?? 0) > jobs.length);
      if (!more) return jobs;
    }
    throw new AtlasDecodeError([`more than ${MAX_PAGES} pages`], context);
  }

  /**
   * Reads a cluster's Flex restore jobs page by page (500 a page, newest first), and reads the
   * next page only while the last one was full and `wantMore` says that the next may hold
   * something needed. It stops on a short page, never on `totalCount` (an estimate).
   */
  listFlexRestoreJobPages(
    groupId: string,
    clusterName: string,
    wantMore: (page: readonly RestoreJob[]) => boolean,
    signal?: AbortSignal,
  ): Promise<RestoreJobPages> {
    return this.listRestoreJobPages("flex", groupId, clusterName, wantMore, signal);
  }

  /**
   * Reads a cluster's restore jobs of a paged family (Flex, dedicated) page by page, 500 a page,
   * as `listFlexRestoreJobPages` does: the next page only while the last one was full and
   * `wantMore` asks for it.
   */
  async listRestoreJobPages(
    api: "flex" | "dedicated",
    groupId: string,
    clusterName: string,
    wantMore: (page: readonly RestoreJob[]) => boolean,
    signal?: AbortSignal,
  ): Promise<RestoreJobPages> {
    const path = restoreJobsPath(api, groupId, clusterName);
    const context = { operation: `list ${api} restore jobs`, target: path };
    const jobs: RestoreJob[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const query = { pageNum: String(page), itemsPerPage: String(FLEX_MAX_ITEMS_PER_PAGE) };
      const items = await this.#get(
        { api, accept: MEDIA_TYPES[api] },
        groupId,
        path,
        query,
        context,
        signal,
        (body) =>
          this.#decodeItems(body, context, jobs.length, (item) => {
            const job = decodeRestoreJob(api, item);
            return job.ok ? { ok: true, value: job.job } : job;
          }),
      );
      jobs.push(...items);
      if (items.length < FLEX_MAX_ITEMS_PER_PAGE) return { jobs, pages: page, complete: true };
      if (!wantMore(items)) return { jobs, pages: page, complete: false };
    }
    throw new AtlasDecodeError([`more than ${MAX_PAGES} pages`], context);
  }

  /** Reads every project of an organization (needs Organization Member). */
  listOrgProjects(orgId: string, signal?: AbortSignal): Promise<ProjectSummary[]> {
    return this.#listAll("projects", orgId, orgProjectsPath(orgId), decodeProject, signal);
  }

  /** Reads every Flex cluster of a project (needs Project Read Only). */
  listFlexClusters(groupId: string, signal?: AbortSignal): Promise<FlexClusterSummary[]> {
    return this.#listAll(
      "flexClusters",
      groupId,
      flexClustersPath(groupId),
      decodeFlexCluster,
      signal,
    );
  }

  /** Reads every cluster of a project, dedicated and shared-tier (needs Project Read Only). */
  listClusters(groupId: string, signal?: AbortSignal): Promise<ClusterSummary[]> {
    return this.#listAll("clusters", groupId, clustersPath(groupId), decodeClusterSummary, signal);
  }

  /** Reads every page of a discovery listing, 500 items a page, until a short page. */
  async #listAll<T>(
    listing: Listing,
    ownerId: string,
    path: string,
    decodeItem: (
      item: unknown,
    ) => { ok: true; value: T } | { ok: false; problems: readonly string[] },
    signal: AbortSignal | undefined,
  ): Promise<T[]> {
    const context = { operation: `list ${listing}`, target: path };
    const all: T[] = [];
    for (let page = 1; page <= MAX_PAGES; page++) {
      const query = { pageNum: String(page), itemsPerPage: String(MAX_ITEMS_PER_PAGE) };
      const items = await this.#get(
        { api: listing, accept: LISTING_MEDIA_TYPES[listing] },
        ownerId,
        path,
        query,
        context,
        signal,
        (body) => this.#decodeItems(body, context, all.length, decodeItem),
      );
      all.push(...items);
      if (items.length < MAX_ITEMS_PER_PAGE) return all;
    }
    throw new AtlasDecodeError([`more than ${MAX_PAGES} pages`], context);
  }

  /** Decodes a list envelope and each of its items; a bad item fails the page. */
  #decodeItems<T>(
    body: unknown,
    context: Omit<AtlasErrorContext, "cause">,
    offset: number,
    decodeItem: (
      item: unknown,
    ) => { ok: true; value: T } | { ok: false; problems: readonly string[] },
  ): T[] {
    const page = decodePage(body);
    if (!page.ok) throw new AtlasDecodeError(page.problems, context);
    return page.results.map((item, index) => {
      const decoded = decodeItem(item);
      if (!decoded.ok) {
        throw new AtlasDecodeError(
          decoded.problems.map((p) => `results[${offset + index}].${p}`),
          context,
        );
      }
      return decoded.value;
    });
  }

  /**
   * GETs a JSON document and decodes it with `decode`, retrying once after a 401 when the
   * authenticator can get fresh credentials. Errors are counted as the metrics see them.
   */
  async #get<T>(
    api: ApiFamily | { readonly api: RequestApi; readonly accept: string },
    groupId: string,
    path: string,
    query: Record<string, string> | undefined,
    context: Omit<AtlasErrorContext, "cause">,
    signal: AbortSignal | undefined,
    decode: (body: unknown) => T,
  ): Promise<T> {
    const { authenticator } = this.#options;
    const target = typeof api === "string" ? { api, accept: MEDIA_TYPES[api] } : api;
    for (let attempt = 0; ; attempt++) {
      const pending = authenticator.headers(signal);
      const authHeaders = pending instanceof Promise ? await pending : pending;
      const request: SendRequest = {
        method: "GET",
        path,
        query,
        headers: this.#headers(target.accept, authHeaders),
        api: target.api,
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

  /** The request headers for a media type and the credentials' headers, built once for both. */
  #headers(
    accept: string,
    authHeaders: Readonly<Record<string, string>>,
  ): Readonly<Record<string, string>> {
    let byAccept = this.#requestHeaders.get(authHeaders);
    if (byAccept === undefined) {
      byAccept = new Map();
      this.#requestHeaders.set(authHeaders, byAccept);
    }
    let headers = byAccept.get(accept);
    if (headers === undefined) {
      headers = Object.freeze({ accept, ...authHeaders });
      byAccept.set(accept, headers);
    }
    return headers;
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
