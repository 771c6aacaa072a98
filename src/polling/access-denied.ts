/**
 * Reports once per cluster that Atlas refuses (403) to read its dedicated restore jobs, naming
 * the role the specification asks for (Project Backup Manager: more than Flex reads need). The
 * refused jobs still log their own `restore_poll_error`; this line says what to fix. Only the
 * dedicated family is concerned: a Flex job of the same project is polled and reported as ever.
 */
import { AtlasHttpError } from "../atlas/errors.js";
import { REQUIRED_ROLES } from "../atlas/endpoints.js";
import type { Logger } from "../logger.js";
import type { JobState } from "../tracker/job-state.js";
import type { TrackerEvent } from "../tracker/tracker.js";

/** Remembers which clusters were reported, until one of their jobs is read again. */
export class AccessDeniedReporter {
  readonly #reported = new Set<string>();

  /** Takes one job's poll: its state after the poll, its events, and whether Atlas answered it. */
  observe(logger: Logger, state: JobState, events: readonly TrackerEvent[], ok: boolean): void {
    if (state.api !== "dedicated") return;
    const key = `${state.groupId}/${state.clusterName}`;
    if (ok) {
      this.#reported.delete(key);
      return;
    }
    if (this.#reported.has(key)) return;
    for (const event of events) {
      if (event.type !== "poll_error") continue;
      const { error } = event;
      if (!(error instanceof AtlasHttpError) || error.status !== 403) continue;
      this.#reported.add(key);
      logger.warn(
        {
          event: "restore_access_denied",
          groupId: state.groupId,
          clusterName: state.clusterName,
          api: state.api,
          status: error.status,
          errorCode: error.errorCode,
          requiredRole: REQUIRED_ROLES.dedicated,
        },
        "Atlas refused to read the cluster's restore jobs; the credentials need the role named",
      );
      return;
    }
  }
}
