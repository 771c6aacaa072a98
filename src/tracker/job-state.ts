/** What the daemon knows about one restore job between polls; persisted in the state file. */
import type { ApiFamily, RestoreStatus } from "../atlas/model.js";

/** Static properties of a job, as Atlas reported them last. */
export interface JobInfo {
  readonly deliveryType?: string;
  readonly snapshotId?: string;
  readonly targetProjectId?: string;
  readonly targetDeploymentItemName?: string;
  /** Epoch milliseconds. */
  readonly scheduledAt?: number;
  /** Epoch milliseconds. */
  readonly finishedAt?: number;
}

/** Why a job moved to another endpoint family. */
export type SwitchReason =
  "sunset_date" | "version_gone" | "flex_cluster" | "cluster_not_found" | "configuration";

/** The tracked state of one job. Every time is epoch milliseconds. */
export interface JobState {
  readonly groupId: string;
  readonly clusterName: string;
  readonly restoreId: string;
  /** The family the job was last polled on. */
  readonly api: ApiFamily;
  /** The last status seen, or null before the first sighting. */
  readonly status: RestoreStatus | null;
  /** The raw status string when `status` is UNKNOWN. */
  readonly rawStatus?: string;
  readonly info?: JobInfo;
  /** When the status last changed (or was first seen). */
  readonly lastTransitionAt?: number;
  /** When the job was first seen in a final status; its series go after the retention. */
  readonly terminalSince?: number;
  /** The kind of the current polling error, absent while polls succeed. */
  readonly errorKind?: string;
  /** Set once the job left the tenant family in auto mode; never undone by a restart. */
  readonly switchedToFlex?: { readonly at: number; readonly reason: SwitchReason };
}

/**
 * A job as the daemon tracks it: its state, and when Atlas last answered for it with the job.
 * The time is kept beside the state, not in it: nearly every poll moves it and nothing else, and
 * a new state per poll, kept until the job's next poll, outlived the young generation and filled
 * the old one (some 1.5 MB a cycle at 10,000 jobs). The poller owns these and updates them in
 * place: read them, do not keep them.
 */
export interface TrackedJob {
  readonly state: JobState;
  /** Epoch milliseconds; undefined before the first success. */
  readonly lastSuccessAt: number | undefined;
}

/** A TrackedJob as its owner keeps it, changed in place (the poller's, the exposition's copies). */
export type TrackedRecord = { -readonly [K in keyof TrackedJob]: TrackedJob[K] };

/** A job's state with its last success, as the state file, the status page and the API show it. */
export interface JobSnapshot extends JobState {
  readonly lastSuccessAt?: number;
}

/** `job` as one object, made for the occasion. */
export function snapshotOf(job: TrackedJob): JobSnapshot {
  return job.lastSuccessAt === undefined
    ? job.state
    : { ...job.state, lastSuccessAt: job.lastSuccessAt };
}

/** `snapshot` split into its state and its last success: the inverse of snapshotOf. */
export function trackedOf({ lastSuccessAt, ...state }: JobSnapshot): TrackedJob {
  return { state, lastSuccessAt };
}

/**
 * Longest free text (an error kind, a raw status, a display field) kept in a job's state: Atlas
 * may send any length, and the state file must stay readable whatever it sent.
 */
export const MAX_STATE_TEXT = 200;

/** `text` cut to MAX_STATE_TEXT characters (code points, never half a surrogate pair). */
export function boundText(text: string): string {
  if (text.length <= MAX_STATE_TEXT) return text;
  return Array.from(text).slice(0, MAX_STATE_TEXT).join("");
}

/**
 * True when `a` and `b` hold the same values: a poll that only confirms what the state already
 * says keeps the state it had (see observeJob), and changes nothing the state file must have at
 * once (see poller.ts). Compares every field, nested ones included, so that a field added later
 * counts without a change here.
 */
export function sameState(a: JobState, b: JobState): boolean {
  return a === b || sameValues(a, b);
}

/** True when two infos hold the same values (both absent included). */
export function sameInfo(a: JobInfo | undefined, b: JobInfo | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && sameValues(a, b));
}

/**
 * Whether two plain objects hold the same values, field by field and nested (a field set to
 * undefined counts as absent). Allocates nothing: it runs on every poll.
 */
function sameValues(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let fields = 0;
  for (const key in x) {
    const u = x[key];
    if (u === undefined) continue;
    fields++;
    const v = y[key];
    if (u === v) continue;
    if (typeof u !== "object" || typeof v !== "object" || u === null || v === null) return false;
    if (!sameValues(u, v)) return false;
  }
  for (const key in y) {
    if (y[key] !== undefined) fields--;
  }
  return fields === 0;
}
