/**
 * Turns tracker events into log lines and counters. The log line shapes here are an interface
 * operators query on: keep the `event` names and field names stable.
 */
import type { ApiFamily } from "../atlas/model.js";
import { AtlasHttpError } from "../atlas/errors.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../http/metrics.js";
import type { JobState } from "../tracker/job-state.js";
import type { TrackerEvent } from "../tracker/tracker.js";

/** The identity fields every job line carries. */
export function jobFields(job: Pick<JobState, "groupId" | "clusterName" | "restoreId">) {
  return { groupId: job.groupId, clusterName: job.clusterName, restoreId: job.restoreId };
}

/** Logs one event of one job (whose state is `state` after the event) and counts it. */
export function reportEvent(
  logger: Logger,
  metrics: Metrics,
  state: JobState,
  event: TrackerEvent,
): void {
  const ids = jobFields(state);
  switch (event.type) {
    case "transition": {
      const { job } = event;
      const fields = {
        event: "restore_transition",
        eventId: event.id,
        ...ids,
        api: state.api as ApiFamily,
        from: event.from,
        to: event.to,
        ...(event.to === "UNKNOWN" ? { rawStatus: job.rawStatus } : {}),
        deliveryType: job.deliveryType,
        snapshotId: job.snapshotId,
        targetProjectId: job.targetProjectId,
        targetDeploymentItemName: job.targetDeploymentItemName,
        restoreScheduledDate: job.restoreScheduledDate,
        restoreFinishedDate: job.restoreFinishedDate,
        previousStatusSeconds: event.previousStatusSeconds,
        durationSeconds: event.durationSeconds,
        // Dedicated jobs: the flags the status was derived from, as Atlas sent them.
        ...(job.flags ? { flags: job.flags } : {}),
      };
      if (event.to === "FAILED") logger.error(fields, "restore job status changed");
      else if (event.to === "CANCELLED") logger.warn(fields, "restore job status changed");
      else logger.info(fields, "restore job status changed");
      metrics.transition(state.api, event.from, event.to);
      return;
    }
    case "regressed":
      logger.warn(
        {
          event: "restore_status_regressed",
          ...ids,
          api: state.api,
          from: event.from,
          to: event.to,
        },
        "restore job status went backwards",
      );
      return;
    case "poll_error": {
      const { error } = event;
      const http = error instanceof AtlasHttpError ? error : undefined;
      logger.warn(
        {
          event: "restore_poll_error",
          ...ids,
          api: state.api,
          errorKind: event.kind,
          previousErrorKind: event.previousKind,
          errorType: error.code,
          status: http?.status,
          errorCode: http?.errorCode,
          detail: http?.detail,
          error: error.message,
        },
        "restore job poll failed",
      );
      return;
    }
    case "poll_recovered":
      logger.info(
        {
          event: "restore_poll_recovered",
          ...ids,
          api: state.api,
          previousErrorKind: event.previousKind,
        },
        "restore job poll recovered",
      );
      return;
    case "api_switched":
      logger.warn(
        {
          event: "restore_api_switched",
          ...ids,
          from: event.from,
          to: event.to,
          reason: event.reason,
        },
        "restore job moved to another endpoint family",
      );
      return;
  }
}
