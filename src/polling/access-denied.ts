/**
 * Reports once per cluster that Atlas refuses (403) to read its dedicated restore jobs, naming
 * the role the specification asks for (Project Backup Manager: more than Flex reads need). The
 * refused jobs still log their own `restore_poll_error`; this line says what to fix. Only the
 * dedicated family is concerned: a Flex job of the same project is polled and reported as ever.
 */
import { AtlasHttpError, type AtlasError } from "../atlas/errors.js";
import { REQUIRED_ROLES } from "../atlas/endpoints.js";
import type { Logger } from "../logger.js";
import type { JobState } from "../tracker/job-state.js";
import type { TrackerEvent } from "../tracker/tracker.js";

/** The error kind of a 403 answer, as AtlasHttpError names it. */
const FORBIDDEN_KIND = "http_403";

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
    const refusal = events.find(
      (event) =>
        event.type === "poll_error" &&
        event.error instanceof AtlasHttpError &&
        event.error.status === 403,
    );
    // A refusal saved before a restart has no new event: the saved kind (http_403_<errorCode>,
    // see AtlasHttpError.kind) says it, so the restarted daemon reports the cluster once too.
    const saved = refusal === undefined && state.errorKind?.startsWith(FORBIDDEN_KIND) === true;
    if (refusal === undefined && !saved) return;
    const errorCode =
      refusal?.type === "poll_error" && refusal.error instanceof AtlasHttpError
        ? refusal.error.errorCode
        : state.errorKind?.slice(FORBIDDEN_KIND.length + 1) || undefined;
    this.#report(logger, state, errorCode);
  }

  /**
   * Takes one LIST of a watched dedicated cluster: `error` when it failed. A 403 is reported as
   * a refused GET is, once per cluster until the cluster is read again.
   */
  listed(
    logger: Logger,
    cluster: { readonly groupId: string; readonly clusterName: string },
    error: AtlasError | undefined,
  ): void {
    const key = `${cluster.groupId}/${cluster.clusterName}`;
    if (error === undefined) {
      this.#reported.delete(key);
      return;
    }
    if (this.#reported.has(key)) return;
    if (!(error instanceof AtlasHttpError) || error.status !== 403) return;
    this.#report(logger, cluster, error.errorCode);
  }

  #report(
    logger: Logger,
    cluster: { readonly groupId: string; readonly clusterName: string },
    errorCode: string | undefined,
  ): void {
    this.#reported.add(`${cluster.groupId}/${cluster.clusterName}`);
    logger.warn(
      {
        event: "restore_access_denied",
        groupId: cluster.groupId,
        clusterName: cluster.clusterName,
        api: "dedicated",
        status: 403,
        errorCode,
        requiredRole: REQUIRED_ROLES.dedicated,
      },
      "Atlas refused to read the cluster's restore jobs; the credentials need the role named",
    );
  }
}
