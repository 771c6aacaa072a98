/** The restore-job model shared by both Atlas endpoint families. */

/** Statuses in the Atlas enum, in the order a restore normally goes through them. */
export const KNOWN_STATUSES = ["PENDING", "QUEUED", "RUNNING", "COMPLETED", "FAILED"] as const;

/** A status from the Atlas enum. */
export type KnownStatus = (typeof KNOWN_STATUSES)[number];

/** A tracked status: the enum, or UNKNOWN for a value outside it (kept raw in `rawStatus`). */
export type RestoreStatus = KnownStatus | "UNKNOWN";

/** Every status a job can be exported with, UNKNOWN last. */
export const ALL_STATUSES: readonly RestoreStatus[] = [...KNOWN_STATUSES, "UNKNOWN"];

/** Statuses after which Atlas does not move a job again, so it is no longer polled. */
export const TERMINAL_STATUSES: ReadonlySet<RestoreStatus> = new Set(["COMPLETED", "FAILED"]);

/** The two restore endpoint families: shared-tier ("tenant", sunset 2026-01-22) and Flex. */
export type ApiFamily = "tenant" | "flex";

/** Both families, for iteration and validation. */
export const API_FAMILIES: readonly ApiFamily[] = ["tenant", "flex"];

/**
 * Identifies one restore job. The same triple names the job on both families: tenant
 * `clusterName`/`restoreId` are Flex `name`/`restoreJobId`.
 */
export interface JobRef {
  readonly groupId: string;
  readonly clusterName: string;
  readonly restoreId: string;
}

/** One restore job as Atlas describes it, decoded from either family's body. */
export interface RestoreJob {
  readonly id: string;
  readonly status: RestoreStatus;
  /** The status string exactly as Atlas sent it. */
  readonly rawStatus: string;
  /** Tenant `clusterName` or Flex `instanceName`: the source cluster. */
  readonly clusterName?: string;
  readonly deliveryType?: string;
  readonly snapshotId?: string;
  readonly snapshotUrl?: string;
  readonly projectId?: string;
  readonly targetProjectId?: string;
  readonly targetDeploymentItemName?: string;
  /** ISO-8601 dates as Atlas sent them. */
  readonly snapshotFinishedDate?: string;
  readonly restoreScheduledDate?: string;
  readonly restoreFinishedDate?: string;
  readonly expirationDate?: string;
}

/** Maps a status string from Atlas onto the tracked statuses. */
export function toRestoreStatus(raw: string): RestoreStatus {
  return (KNOWN_STATUSES as readonly string[]).includes(raw) ? (raw as KnownStatus) : "UNKNOWN";
}

/** A stable key for a job, the same on both families. */
export function jobKey(ref: JobRef): string {
  return `${ref.groupId}/${ref.clusterName}/${ref.restoreId}`;
}
