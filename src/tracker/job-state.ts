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
  /** When Atlas last answered for this job with the job. */
  readonly lastSuccessAt?: number;
  /** When the job was first seen in a final status; its series go after the retention. */
  readonly terminalSince?: number;
  /** The kind of the current polling error, absent while polls succeed. */
  readonly errorKind?: string;
  /** Set once the job left the tenant family in auto mode; never undone by a restart. */
  readonly switchedToFlex?: { readonly at: number; readonly reason: SwitchReason };
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
 * True when `a` and `b` differ in nothing but `lastSuccessAt`: a poll that only confirms what the
 * state already says. Such a change need not be saved at once (see poller.ts), which at 10,000
 * jobs spares rewriting the whole state after every cycle. Compares every field, nested ones
 * included, so that a field added later is saved without a change here.
 */
export function sameButLastSuccess(a: JobState, b: JobState): boolean {
  if (a === b) return true;
  return sameValues(a, b, "lastSuccessAt");
}

/** True when two infos hold the same values (both absent included). */
export function sameInfo(a: JobInfo | undefined, b: JobInfo | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && sameValues(a, b));
}

/**
 * Whether two plain objects hold the same values, field by field and nested, `ignored` aside (a
 * field set to undefined counts as absent). Allocates nothing: it runs on every poll.
 */
function sameValues(a: object, b: object, ignored?: string): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let fields = 0;
  for (const key in x) {
    if (key === ignored) continue;
    const u = x[key];
    if (u === undefined) continue;
    fields++;
    const v = y[key];
    if (u === v) continue;
    if (typeof u !== "object" || typeof v !== "object" || u === null || v === null) return false;
    if (!sameValues(u, v)) return false;
  }
  for (const key in y) {
    if (key !== ignored && y[key] !== undefined) fields--;
  }
  return fields === 0;
}
