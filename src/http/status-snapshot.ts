/**
 * What the status page and /api/jobs show, as one plain value taken at request time: the tracked
 * jobs, the last errors and transitions, and (once discovery and reloading exist) what is
 * watched and the last configuration reload. The HTTP layer only reads it.
 */
import type { ApiFamily, RestoreStatus } from "../atlas/model.js";
import type { JobState } from "../tracker/job-state.js";

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

/** One watched Atlas object: an id and, when known, its name. */
export interface WatchedItem {
  readonly id: string;
  readonly name?: string;
}

/** One watched cluster: its project, its name and, when known, the family its restores use. */
export interface WatchedCluster {
  readonly groupId: string;
  readonly name: string;
  readonly api?: ApiFamily;
}

/** What discovery watches; filled once discovery exists (see the README). */
export interface WatchedSnapshot {
  readonly organizations: readonly WatchedItem[];
  readonly projects: readonly WatchedItem[];
  readonly clusters: readonly WatchedCluster[];
  /** Epoch milliseconds of the last successful discovery. */
  readonly lastSuccessAt?: number;
}

/** The configuration's last reload. */
export interface ReloadSnapshot {
  /** Epoch milliseconds. */
  readonly at: number;
  readonly successful: boolean;
  /** Why it was refused, when it was. */
  readonly problem?: string;
}

/** Everything the status page shows, taken at one instant. */
export interface StatusSnapshot {
  /** Epoch milliseconds. */
  readonly now: number;
  /** Epoch milliseconds, when the daemon started. */
  readonly startedAt: number;
  readonly version: string;
  readonly ready: boolean;
  readonly jobs: readonly JobState[];
  /** The last error of each job still failing, by jobKey. */
  readonly errors: ReadonlyMap<string, PollErrorRecord>;
  /** Newest first, at most 100. */
  readonly transitions: readonly TransitionRecord[];
  /** Absent until discovery feeds it: shown as "nothing watched by discovery". */
  readonly watched?: WatchedSnapshot;
  /** Absent until a reload happened: shown as "not reloaded since start". */
  readonly lastReload?: ReloadSnapshot;
}
