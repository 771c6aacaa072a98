/**
 * Which jobs a status page or /api/jobs request asks for: the query string is checked (a bad
 * value is a clear 400, a page past the end a 404), the jobs sorted so that failed and running
 * ones come first, and one page cut out. Shared by the HTML page and the JSON API.
 */
import { ALL_STATUSES, jobKey, type RestoreStatus } from "../atlas/model.js";
import type { JobSnapshot, JobState } from "../tracker/job-state.js";

/** A request's choice of jobs. */
export interface JobQuery {
  /** Only jobs in this status; `NOT_SEEN` for jobs Atlas has not shown yet. */
  readonly status?: RestoreStatus | typeof NOT_SEEN;
  /** 1-based. */
  readonly page: number;
  readonly pageSize: number;
}

/** The status filter value of jobs not seen yet (status null). */
export const NOT_SEEN = "NOT_SEEN";

/** Every value `status=` accepts. */
export const STATUS_FILTERS: readonly string[] = [...ALL_STATUSES, NOT_SEEN];

/** A refused query: the HTTP status and a message naming the parameter and the bad value. */
export interface QueryProblem {
  readonly httpStatus: 400 | 404;
  readonly message: string;
}

/** Page size bounds of a kind of request. */
export interface PageSizeLimits {
  readonly default: number;
  readonly max: number;
}

/** A page of jobs and where it sits in the whole list. */
export interface JobPage {
  readonly jobs: readonly JobSnapshot[];
  /** Jobs matching the filter, over all pages. */
  readonly total: number;
  readonly page: number;
  readonly pageSize: number;
  readonly pages: number;
  /** Every tracked job, by status (`NOT_SEEN` for status null). */
  readonly counts: Readonly<Record<string, number>>;
}

/** Longest value quoted back in a message. */
const QUOTE_MAX = 40;

function quote(value: string): string {
  const cut = value.length > QUOTE_MAX ? `${value.slice(0, QUOTE_MAX)}…` : value;
  return JSON.stringify(cut);
}

function positiveInt(name: string, value: string, max: number): number | QueryProblem {
  const n = /^[1-9][0-9]{0,8}$/.test(value) ? Number(value) : NaN;
  if (Number.isNaN(n) || n > max) {
    return {
      httpStatus: 400,
      message: `${name}: ${quote(value)} is not a whole number from 1 to ${max}`,
    };
  }
  return n;
}

/**
 * Reads `status`, `page` and `limit` from a query string (without the `?`). Unknown or repeated
 * parameters are refused too: a misspelt filter must not quietly return every job.
 */
export function parseJobQuery(search: string, limits: PageSizeLimits): JobQuery | QueryProblem {
  const params = new URLSearchParams(search);
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (!["status", "page", "limit"].includes(name)) {
      return {
        httpStatus: 400,
        message: `${quote(name)} is not a parameter (use status, page, limit)`,
      };
    }
    if (seen.has(name)) return { httpStatus: 400, message: `${name}: given more than once` };
    seen.add(name);
  }
  const status = params.get("status");
  if (status !== null && !STATUS_FILTERS.includes(status)) {
    return {
      httpStatus: 400,
      message: `status: ${quote(status)} is not one of ${STATUS_FILTERS.join(", ")}`,
    };
  }
  const pageText = params.get("page");
  const page = pageText === null ? 1 : positiveInt("page", pageText, 1_000_000);
  if (typeof page !== "number") return page;
  const limitText = params.get("limit");
  const pageSize =
    limitText === null ? limits.default : positiveInt("limit", limitText, limits.max);
  if (typeof pageSize !== "number") return pageSize;
  return {
    page,
    pageSize,
    ...(status !== null ? { status: status as RestoreStatus | typeof NOT_SEEN } : {}),
  };
}

/** Sort rank of a status: failed first, then running, then the rest of the workflow. */
const RANK: Readonly<Record<string, number>> = {
  FAILED: 0,
  RUNNING: 1,
  QUEUED: 2,
  PENDING: 3,
  UNKNOWN: 4,
  [NOT_SEEN]: 5,
  CANCELLED: 6,
  COMPLETED: 7,
};

/** The status filter key of a job. */
export function statusKey(job: JobState): string {
  return job.status ?? NOT_SEEN;
}

/** A job and its sort keys, computed once per request rather than once per comparison. */
interface Sortable {
  readonly job: JobSnapshot;
  readonly rank: number;
  readonly changed: number;
  readonly key: string;
}

function sortable(job: JobSnapshot): Sortable {
  return {
    job,
    rank: RANK[statusKey(job)] ?? 9,
    changed: job.lastTransitionAt ?? 0,
    key: jobKey(job),
  };
}

/**
 * Orders jobs for people: failed, running, queued, pending, unknown, not seen, completed; within
 * a status, the latest change first, then by jobKey for a stable order.
 */
function compare(a: Sortable, b: Sortable): number {
  return a.rank - b.rank || b.changed - a.changed || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/** Filters, sorts and pages `jobs`; a page past the last one is a 404. */
export function selectJobs(jobs: readonly JobSnapshot[], query: JobQuery): JobPage | QueryProblem {
  const counts: Record<string, number> = {};
  for (const status of STATUS_FILTERS) counts[status] = 0;
  const matching: Sortable[] = [];
  for (const job of jobs) {
    const key = statusKey(job);
    counts[key] = (counts[key] ?? 0) + 1;
    if (query.status === undefined || key === query.status) matching.push(sortable(job));
  }
  const pages = Math.max(1, Math.ceil(matching.length / query.pageSize));
  if (query.page > pages) {
    return {
      httpStatus: 404,
      message: `page: ${query.page} is past the last page (${pages})`,
    };
  }
  matching.sort(compare);
  const start = (query.page - 1) * query.pageSize;
  return {
    jobs: matching.slice(start, start + query.pageSize).map((entry) => entry.job),
    total: matching.length,
    page: query.page,
    pageSize: query.pageSize,
    pages,
    counts,
  };
}
