/**
 * What the status page and /api/jobs show, as one plain value taken at request time: the tracked
 * jobs, the last errors and transitions, what discovery watches and the configuration's last load
 * or reload. The HTTP layer only reads it.
 */
import type { ApiFamily, RestoreStatus } from "../atlas/model.js";
import type { ReloadStatus, WatchStatus } from "../discovery/watch-status.js";
import type { JobSnapshot } from "../tracker/job-state.js";

/** The last failed poll of a job, as Atlas answered it (or how reaching it failed). */
export interface PollErrorRecord {
  /** The tracker's kind, e.g. `http_404_CLUSTER_NOT_FOUND` or `timeout_headers`. */
  readonly kind: string;
  /** Epoch milliseconds. */
  readonly at: number;
  /** The HTTP status, for an answer from Atlas. */
  readonly status?: number;
  /** Atlas's `errorCode`. */
  readonly errorCode?: string;
  /** Atlas's own `detail` text, or the error's description when Atlas did not answer. */
  readonly detail?: string;
}

/** One status change, as it was reported. */
export interface TransitionRecord {
  /** Epoch milliseconds, when the daemon saw it. */
  readonly at: number;
  readonly groupId: string;
  readonly clusterName: string;
  readonly restoreId: string;
  readonly api: ApiFamily;
  /** null for a first sighting. */
  readonly from: RestoreStatus | null;
  readonly to: RestoreStatus;
}

/** Everything the status page shows, taken at one instant. */
export interface StatusSnapshot {
  /** Epoch milliseconds. */
  readonly now: number;
  /** Epoch milliseconds, when the daemon started. */
  readonly startedAt: number;
  readonly version: string;
  readonly ready: boolean;
  /** The jobs to show, each with its last success. */
  readonly jobs: readonly JobSnapshot[];
  /** The last error of each job still failing, by jobKey. */
  readonly errors: ReadonlyMap<string, PollErrorRecord>;
  /** Newest first, at most 100. */
  readonly transitions: readonly TransitionRecord[];
  /** What discovery watches; empty lists are shown as "nothing watched by discovery". */
  readonly watched?: WatchStatus;
  /** The configuration's last load (at start) or reload. */
  readonly lastReload?: ReloadStatus;
}
