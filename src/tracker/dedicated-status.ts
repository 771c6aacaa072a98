/**
 * The status of a dedicated cluster's restore job, derived from its flags: Atlas's
 * DiskBackupSnapshotRestoreJob has no status field. The order follows MongoDB's own CLI (failed,
 * then cancelled, then expired, then finished), so that the daemon and the CLI agree on every
 * outcome. Pure: a table test covers every row.
 */
import type { DedicatedFlags, RestoreStatus } from "../atlas/model.js";

/** The `deliveryType` of a restore that produces files to download instead of a cluster. */
export const DOWNLOAD_DELIVERY_TYPE = "download";

/** True when a download restore's files are ready: a delivery URL, or one per shard. */
export function isDownloadReady(flags: DedicatedFlags, deliveryType: string | undefined): boolean {
  return (
    deliveryType === DOWNLOAD_DELIVERY_TYPE && (flags.deliveryUrls > 0 || flags.componentUrls > 0)
  );
}

/**
 * Derives the status, row by row: `failed` is FAILED; `cancelled` is CANCELLED; `expired` is
 * FAILED unless the restore was ever ready (in this body, or `seenReady` from an earlier one):
 * it never delivered; `finishedAt` is COMPLETED; a ready download is COMPLETED; anything else is
 * RUNNING (pending and queued cannot be told apart).
 */
export function deriveDedicatedStatus(
  flags: DedicatedFlags,
  deliveryType: string | undefined,
  seenReady = false,
): RestoreStatus {
  if (flags.failed) return "FAILED";
  if (flags.cancelled) return "CANCELLED";
  const ready = flags.finished || isDownloadReady(flags, deliveryType);
  if (flags.expired && !ready && !seenReady) return "FAILED";
  if (ready || flags.expired) return "COMPLETED";
  return "RUNNING";
}
