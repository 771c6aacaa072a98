/**
 * The pure part of `wait`: one job's progress (the tracker's state plus what `wait` needs to
 * decide), when it is finished, how it ended, its JSON result line and the exit code. No IO, no
 * clock: `now` is an argument, as in the tracker.
 */
import { AtlasHttpError, type AtlasError } from "../atlas/errors.js";
import type { JobRef, RestoreJob } from "../atlas/model.js";
import type { JobState } from "../tracker/job-state.js";
import { isTerminal, observeError, observeJob, type Step } from "../tracker/tracker.js";

/** How a job's wait ended. */
export type WaitOutcome =
  "completed" | "failed" | "cancelled" | "timeout" | "error" | "interrupted";

/** The exit code of each outcome; `wait` exits with the highest among its jobs. */
export const OUTCOME_EXIT_CODES: Readonly<Record<WaitOutcome, number>> = {
  completed: 0,
  failed: 1,
  // A cancelled restore (dedicated only) did not restore: a pipeline must not go on either.
  cancelled: 1,
  timeout: 2,
  error: 3,
  interrupted: 130,
};

/** Refusals in a row (401, 403, 404, another 4xx but 429) after which a job's wait ends. */
export const MAX_REFUSALS = 3;

/** One job as `wait` follows it. Every time is epoch milliseconds. */
export interface WaitJob {
  /** The tracker's state: status, family, error kind. */
  readonly state: JobState;
  /** Atlas's last answer for the job, for its dates. */
  readonly job?: RestoreJob;
  /** The error of the last poll, when it failed; cleared by an answer. */
  readonly error?: AtlasError;
  /** Refusals since the last answer. */
  readonly refusals: number;
  /** Set once the wait for this job is over. */
  readonly outcome?: WaitOutcome;
  /** When the outcome was decided. */
  readonly endedAt?: number;
}

/** A job's new progress and the tracker's events on the way to it. */
export interface WaitStep {
  readonly wait: WaitJob;
  readonly events: Step["events"];
}

/** True for the answers that will not change by asking again: a 4xx other than 429. */
export function isRefusal(error: AtlasError): boolean {
  return (
    error instanceof AtlasHttpError &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 429
  );
}

/** Applies Atlas's answer: a COMPLETED, FAILED or CANCELLED job is finished. */
export function answered(wait: WaitJob, job: RestoreJob, now: number): WaitStep {
  const step = observeJob(wait.state, job, now);
  const finished = isTerminal(step.state);
  return {
    wait: {
      state: step.state,
      job,
      refusals: 0,
      ...(finished ? { outcome: finalOutcome(step.state.status), endedAt: now } : {}),
    },
    events: step.events,
  };
}

/** The outcome of a job in a final status. */
function finalOutcome(status: JobState["status"]): WaitOutcome {
  if (status === "FAILED") return "failed";
  if (status === "CANCELLED") return "cancelled";
  return "completed";
}

/** Applies a failed poll: the MAX_REFUSALS-th refusal in a row ends the job with `error`. */
export function failed(wait: WaitJob, error: AtlasError, now: number): WaitStep {
  const step = observeError(wait.state, error);
  const refusals = isRefusal(error) ? wait.refusals + 1 : wait.refusals;
  return {
    wait: {
      ...wait,
      state: step.state,
      error,
      refusals,
      ...(refusals >= MAX_REFUSALS ? { outcome: "error" as const, endedAt: now } : {}),
    },
    events: step.events,
  };
}

/**
 * Ends a job still waited for when the wait stops: `interrupted` on a signal; at the timeout,
 * `timeout` if Atlas's last word for the job was its status, `error` if its last poll failed or
 * none was ever answered (Atlas unreachable until the timeout).
 */
export function stopped(wait: WaitJob, reason: "timeout" | "interrupted", now: number): WaitJob {
  if (wait.outcome !== undefined) return wait;
  const outcome =
    reason === "interrupted"
      ? "interrupted"
      : wait.error !== undefined || wait.job === undefined
        ? "error"
        : "timeout";
  return { ...wait, outcome, endedAt: now };
}

/** The exit code of a finished wait: the highest of its jobs' codes. */
export function exitCodeOf(jobs: readonly WaitJob[]): number {
  return Math.max(0, ...jobs.map((job) => OUTCOME_EXIT_CODES[job.outcome ?? "error"]));
}

/** The status as Atlas sent it (a value outside the enum too), or null before any answer. */
export function shownStatus(state: JobState): string | null {
  return state.status === "UNKNOWN" ? (state.rawStatus ?? "UNKNOWN") : state.status;
}

/** One job's stdout line, as an object; absent dates and error fields are left out. */
export function resultOf(ref: JobRef, wait: WaitJob, startedAt: number): Record<string, unknown> {
  const job = wait.job;
  const error = wait.outcome === "error" ? wait.error : undefined;
  const http = error instanceof AtlasHttpError ? error : undefined;
  return {
    groupId: ref.groupId,
    clusterName: ref.clusterName,
    restoreId: ref.restoreId,
    api: wait.state.api,
    status: shownStatus(wait.state),
    outcome: wait.outcome ?? "error",
    restoreScheduledDate: job?.restoreScheduledDate,
    restoreFinishedDate: job?.restoreFinishedDate,
    snapshotFinishedDate: job?.snapshotFinishedDate,
    expirationDate: job?.expirationDate,
    waitedSeconds: Math.round(((wait.endedAt ?? startedAt) - startedAt) / 100) / 10,
    httpStatus: http?.status,
    errorCode: http?.errorCode,
    errorKind: wait.outcome === "error" ? (error?.kind ?? "no_answer") : undefined,
  };
}
