/**
 * GET /api/jobs[?status=S&page=N&limit=N]: the status page's jobs as JSON, for scripts. Times
 * are ISO-8601 (UTC) strings; the error is the last one Atlas gave for a job still failing.
 */
import { jobKey } from "../atlas/model.js";
import type { JobSnapshot } from "../tracker/job-state.js";
import { parseJobQuery, selectJobs, type PageSizeLimits, type QueryProblem } from "./job-query.js";
import type { PollErrorRecord, StatusSnapshot } from "./status-snapshot.js";

/** Page sizes of /api/jobs: 500 jobs by default, 5,000 at most. */
export const API_PAGE_SIZE: PageSizeLimits = { default: 500, max: 5_000 };

/** A job's current error: the kind always, Atlas's answer when this run of the daemon saw it. */
export type JobErrorView = Omit<PollErrorRecord, "at"> & { readonly at?: string };

/** One job as the API and the page show it. */
export interface JobView {
  readonly groupId: string;
  readonly clusterName: string;
  readonly restoreId: string;
  readonly api: string;
  /** null until Atlas has shown the job. */
  readonly status: string | null;
  /** Atlas's own status text, when it is outside the known statuses. */
  readonly rawStatus?: string;
  readonly scheduledAt?: string;
  readonly finishedAt?: string;
  readonly lastTransitionAt?: string;
  readonly lastSuccessAt?: string;
  /** Seconds since the last successful poll, at the snapshot's time. */
  readonly lastSuccessAgeSeconds?: number;
  readonly error?: JobErrorView;
}

/** An HTTP answer of the status endpoints. */
export interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Readonly<Record<string, string>>;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

/** Builds the view of one job; `errors` holds the last error records by jobKey. */
export function jobView(
  job: JobSnapshot,
  errors: ReadonlyMap<string, PollErrorRecord>,
  now: number,
): JobView {
  const record = job.errorKind === undefined ? undefined : errors.get(jobKey(job));
  // A record of another kind is older than the state (e.g. from before a restart): not shown.
  const error: JobErrorView | undefined =
    job.errorKind === undefined
      ? undefined
      : record && record.kind === job.errorKind
        ? { ...record, at: new Date(record.at).toISOString() }
        : { kind: job.errorKind };
  const view: { -readonly [K in keyof JobView]: JobView[K] } = {
    groupId: job.groupId,
    clusterName: job.clusterName,
    restoreId: job.restoreId,
    api: job.api,
    status: job.status,
  };
  if (job.status === "UNKNOWN" && job.rawStatus !== undefined) view.rawStatus = job.rawStatus;
  const scheduledAt = iso(job.info?.scheduledAt);
  if (scheduledAt !== undefined) view.scheduledAt = scheduledAt;
  const finishedAt = iso(job.info?.finishedAt);
  if (finishedAt !== undefined) view.finishedAt = finishedAt;
  const lastTransitionAt = iso(job.lastTransitionAt);
  if (lastTransitionAt !== undefined) view.lastTransitionAt = lastTransitionAt;
  if (job.lastSuccessAt !== undefined) {
    view.lastSuccessAt = new Date(job.lastSuccessAt).toISOString();
    view.lastSuccessAgeSeconds = Math.max(0, Math.round((now - job.lastSuccessAt) / 1000));
  }
  if (error !== undefined) view.error = error;
  return view;
}

/** The plain-text answer for a refused query. */
export function problemAnswer(problem: QueryProblem): Answer {
  return {
    status: problem.httpStatus,
    contentType: "text/plain; charset=utf-8",
    body: `${problem.message}\n`,
  };
}

/** Answers GET /api/jobs with the query string `search` (without `?`). */
export function jobsApiAnswer(snapshot: StatusSnapshot, search: string): Answer {
  const query = parseJobQuery(search, API_PAGE_SIZE);
  if ("httpStatus" in query) return problemAnswer(query);
  const page = selectJobs(snapshot.jobs, query);
  if ("httpStatus" in page) return problemAnswer(page);
  const body = {
    generatedAt: new Date(snapshot.now).toISOString(),
    ...(query.status !== undefined ? { status: query.status } : {}),
    total: page.total,
    page: page.page,
    pageSize: page.pageSize,
    pages: page.pages,
    counts: page.counts,
    jobs: page.jobs.map((job) => jobView(job, snapshot.errors, snapshot.now)),
  };
  return {
    status: 200,
    contentType: "application/json; charset=utf-8",
    body: `${JSON.stringify(body)}\n`,
    headers: { "x-content-type-options": "nosniff" },
  };
}
