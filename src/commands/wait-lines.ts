/**
 * The human lines `wait` writes on stderr: a status change (the first status seen included), a
 * poll that fails in a new way or recovers, a move to another family, and why it gives up.
 * Built from typed errors and the tracker's events only, so no credential can reach them.
 */
import {
  AtlasDecodeError,
  AtlasHttpError,
  AtlasNetworkError,
  AtlasTimeoutError,
  type AtlasError,
} from "../atlas/errors.js";
import { REQUIRED_ROLES } from "../atlas/endpoints.js";
import { formatDuration } from "../config/duration.js";
import type { JobState } from "../tracker/job-state.js";
import type { TrackerEvent } from "../tracker/tracker.js";
import { MAX_REFUSALS, shownStatus, type WaitJob } from "./wait-outcome.js";

/** `Flex0 6a79…f21`: the cluster and the restore id cut to its first 4 and last 3 digits. */
export function jobLabel(job: Pick<JobState, "clusterName" | "restoreId">): string {
  const id = job.restoreId;
  return `${job.clusterName} ${id.length > 8 ? `${id.slice(0, 4)}…${id.slice(-3)}` : id}`;
}

/** A duration in whole seconds as `4m12s`. */
function seconds(value: number): string {
  return formatDuration(Math.round(value) * 1000);
}

/** What went wrong, in a few words, with Atlas's errorCode and detail when it gave them. */
export function describeError(error: AtlasError): string {
  if (error instanceof AtlasHttpError) {
    const detail = error.detail === undefined ? "" : `: ${error.detail}`;
    return `HTTP ${error.status}${error.errorCode === undefined ? "" : ` ${error.errorCode}`}${detail}`;
  }
  if (error instanceof AtlasTimeoutError) return `${error.phase} timeout`;
  if (error instanceof AtlasNetworkError) {
    return `network error${error.causeCode === undefined ? "" : ` ${error.causeCode}`}`;
  }
  if (error instanceof AtlasDecodeError) return `unexpected answer (${error.problems.join("; ")})`;
  return error.message;
}

/**
 * What to do about a refusal that has one answer: after a 403 on a dedicated job, the role
 * Atlas's specification asks for (more than Flex reads need); after a Flex read of a dedicated
 * cluster, the `--api` that reads it (`auto` never picks dedicated).
 */
function roleHint(state: JobState, error: AtlasError): string {
  if (!(error instanceof AtlasHttpError)) return "";
  if (state.api === "dedicated" && error.status === 403) {
    return ` (reading a dedicated cluster's restore jobs needs the ${REQUIRED_ROLES.dedicated} role)`;
  }
  if (error.errorCode === "CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API") {
    return " (a dedicated cluster: wait for it with --api dedicated)";
  }
  return "";
}

/** The stderr line for one tracker event of a job, or undefined for an event shown otherwise. */
export function eventLine(state: JobState, event: TrackerEvent): string | undefined {
  const label = jobLabel(state);
  switch (event.type) {
    case "transition": {
      const to = event.to === "UNKNOWN" ? event.job.rawStatus : event.to;
      if (event.from === null) return `${label}: ${to}`;
      const after =
        event.previousStatusSeconds === undefined
          ? ""
          : ` after ${seconds(event.previousStatusSeconds)}`;
      return `${label}: ${event.from} → ${to}${after}`;
    }
    case "poll_error":
      return `${label}: asking again after ${describeError(event.error)}${roleHint(state, event.error)}`;
    case "poll_recovered":
      return `${label}: Atlas answers again`;
    case "api_switched":
      return `${label}: moved from the ${event.from} to the ${event.to} endpoint (${event.reason})`;
    case "regressed":
      // The transition line that follows shows the step back.
      return undefined;
  }
}

/** Why the wait for a job ended without a final status, or undefined when it has one. */
export function endLine(
  wait: WaitJob,
  timeoutMs: number | undefined,
  signal: string | undefined,
): string | undefined {
  const label = jobLabel(wait.state);
  const status = shownStatus(wait.state);
  const last = status === null ? "no status seen" : `last status ${status}`;
  switch (wait.outcome) {
    case "error": {
      const error = wait.error;
      if (wait.refusals >= MAX_REFUSALS && error !== undefined) {
        return `${label}: giving up after ${MAX_REFUSALS} refusals in a row: ${describeError(error)}${roleHint(wait.state, error)}`;
      }
      const reason = error === undefined ? "no answer" : describeError(error);
      return `${label}: timeout of ${seconds((timeoutMs ?? 0) / 1000)} passed with Atlas unreachable (${reason}); ${last}`;
    }
    case "timeout":
      return `${label}: timeout of ${seconds((timeoutMs ?? 0) / 1000)} passed; still ${status ?? "unknown"}, left running`;
    case "interrupted":
      return `${label}: interrupted by ${signal ?? "a signal"}; ${last}, left running`;
    default:
      return undefined;
  }
}
