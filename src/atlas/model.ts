/** The restore-job model shared by the Atlas endpoint families (tenant, Flex, dedicated). */

/** Statuses in the Atlas enum, in the order a restore normally goes through them. */
export const KNOWN_STATUSES = ["PENDING", "QUEUED", "RUNNING", "COMPLETED", "FAILED"] as const;

/** A status from the Atlas enum. */
export type KnownStatus = (typeof KNOWN_STATUSES)[number];

/**
 * A tracked status: the enum, CANCELLED (dedicated jobs only, derived from their `cancelled`
 * flag), or UNKNOWN for a value outside the enum (kept raw in `rawStatus`).
 */
export type RestoreStatus = KnownStatus | "CANCELLED" | "UNKNOWN";

/** Every status any family can have, for validating saved state; UNKNOWN last. */
export const ALL_STATUSES: readonly RestoreStatus[] = [...KNOWN_STATUSES, "CANCELLED", "UNKNOWN"];

/**
 * The statuses a dedicated job can be derived to (see tracker/dedicated-status.ts): it has no
 * status field, so pending and queued cannot be told from running, nor can a value be unknown.
 */
export const DEDICATED_STATUSES: readonly RestoreStatus[] = [
  "RUNNING",
  "COMPLETED",
  "FAILED",
  "CANCELLED",
];

/** Statuses after which Atlas does not move a job again, so it is no longer polled. */
export const TERMINAL_STATUSES: ReadonlySet<RestoreStatus> = new Set([
  "COMPLETED",
  "FAILED",
  "CANCELLED",
]);

/**
 * The restore endpoint families: shared-tier ("tenant", sunset 2026-01-22), Flex, and the cloud
 * backup restore jobs of dedicated (M10 and up) clusters.
 */
export type ApiFamily = "tenant" | "flex" | "dedicated";

/** Every family, for iteration and validation. */
export const API_FAMILIES: readonly ApiFamily[] = ["tenant", "flex", "dedicated"];

const FLEX_AND_TENANT_STATUSES: readonly RestoreStatus[] = [...KNOWN_STATUSES, "UNKNOWN"];

/**
 * The statuses a job of `api` can have, each exported as one series of the state set: tenant
 * and Flex jobs the enum and UNKNOWN, dedicated jobs the four their flags can be derived to.
 */
export function statusesOf(api: ApiFamily): readonly RestoreStatus[] {
  return api === "dedicated" ? DEDICATED_STATUSES : FLEX_AND_TENANT_STATUSES;
}

/**
 * Identifies one restore job. The same triple names the job on both families: tenant
 * `clusterName`/`restoreId` are Flex `name`/`restoreJobId`.
 */
export interface JobRef {
  readonly groupId: string;
  readonly clusterName: string;
  readonly restoreId: string;
}

/**
 * What a dedicated job's body says about its progress (DiskBackupSnapshotRestoreJob has no status
 * field): the flags its status is derived from, kept so that logs can show them as they are.
 * Delivery URLs are counted, never kept: they grant access to the snapshot.
 */
export interface DedicatedFlags {
  readonly failed: boolean;
  readonly cancelled: boolean;
  readonly expired: boolean;
  /** True when `finishedAt` is present. */
  readonly finished: boolean;
  /** Entries of `deliveryUrl`. */
  readonly deliveryUrls: number;
  /** `components[]` entries that have a `downloadUrl`. */
  readonly componentUrls: number;
}

/** One restore job as Atlas describes it, decoded from any family's body. */
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
  /** Dedicated jobs only: the flags the status was derived from. */
  readonly flags?: DedicatedFlags;
}

/** Maps a status string from Atlas onto the tracked statuses. */
export function toRestoreStatus(raw: string): RestoreStatus {
  return (KNOWN_STATUSES as readonly string[]).includes(raw) ? (raw as KnownStatus) : "UNKNOWN";
}

/** A stable key for a job, the same on every family. */
export function jobKey(ref: JobRef): string {
  return `${ref.groupId}/${ref.clusterName}/${ref.restoreId}`;
}
