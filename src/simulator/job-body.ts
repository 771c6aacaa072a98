/** Renders a restore job as each family's JSON body, the way Atlas shows it. */
import type { ApiFamily } from "../atlas/model.js";
import { CLUSTER_NAME_PATTERN } from "./scenario.js";
import { jobStateAt, type SimJob } from "./world.js";

/** Statuses after which Atlas sets `restoreFinishedDate`. */
const FINISHED = new Set(["COMPLETED", "FAILED"]);

/** How long before a restore was scheduled its snapshot finished (any plausible value works). */
const SNAPSHOT_LEAD_MS = 5 * 60_000;

/** How long a DOWNLOAD link works after the restore was scheduled; Atlas's value is unconfirmed. */
const DOWNLOAD_LIFETIME_MS = 4 * 3_600_000;

/** Formats epoch ms as ISO-8601 UTC to the second, e.g. `2025-05-04T09:42:00Z`, as Atlas does. */
export function isoSeconds(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** What a body needs besides the job: the time and where the simulator is. */
export interface RenderContext {
  /** Epoch ms of t=0. */
  readonly startTime: number;
  /** Seconds since t=0. */
  readonly t: number;
  /** The simulator's base URL, for `links` and `snapshotUrl`. */
  readonly baseUrl: string;
  /** The path of the job on the family being rendered, for the `self` link. */
  readonly selfPath: string;
}

/**
 * One job's body: tenant bodies have `clusterName` and `links`, flex bodies `instanceName` and no
 * `links` (as real flex responses). Fields are in alphabetical order, as Atlas sends them.
 */
export function renderJob(
  family: ApiFamily,
  job: SimJob,
  ctx: RenderContext,
): Record<string, unknown> {
  const state = jobStateAt(job, ctx.t);
  const scheduled = ctx.startTime + job.createdAt * 1000;
  const download = job.deliveryType === "DOWNLOAD";
  const body: Record<string, unknown> = {};
  if (family === "tenant") body["clusterName"] = job.clusterName;
  body["deliveryType"] = job.deliveryType;
  if (download) body["expirationDate"] = isoSeconds(scheduled + DOWNLOAD_LIFETIME_MS);
  body["id"] = job.id;
  if (family === "flex") body["instanceName"] = job.clusterName;
  if (family === "tenant") body["links"] = [{ href: `${ctx.baseUrl}${ctx.selfPath}`, rel: "self" }];
  body["projectId"] = job.groupId;
  if (FINISHED.has(state.status)) {
    body["restoreFinishedDate"] = isoSeconds(ctx.startTime + state.since * 1000);
  }
  body["restoreScheduledDate"] = isoSeconds(scheduled);
  body["snapshotFinishedDate"] = isoSeconds(scheduled - SNAPSHOT_LEAD_MS);
  body["snapshotId"] = job.snapshotId;
  // A URL the simulator does not serve: nothing in this project downloads snapshots.
  if (download)
    body["snapshotUrl"] = `${ctx.baseUrl}/backup/restore/v2/pull/${job.id}/snapshot.tar.gz`;
  body["status"] = state.status;
  body["targetDeploymentItemName"] = job.targetDeploymentItemName;
  body["targetProjectId"] = job.targetProjectId;
  return body;
}

/** How long after its files are ready a dedicated download restore expires (unconfirmed). */
const DEDICATED_DOWNLOAD_LIFETIME_MS = 3_600_000;

/**
 * One dedicated restore job's body (DiskBackupSnapshotRestoreJob, 2023-01-01): no status field,
 * but flags. The script's status drives them: COMPLETED sets `finishedAt` (an automated or
 * point-in-time restore) or fills `deliveryUrl` and `expiresAt` without `finishedAt` (a download,
 * as recorded); FAILED sets `failed`, CANCELLED `cancelled`, EXPIRED `expired`; any other status
 * shows a job still running. Real bodies carry `targetDeploymentItemName`, which the
 * specification does not list. Fields are in alphabetical order, as Atlas sends them.
 */
export function renderDedicatedJob(job: SimJob, ctx: RenderContext): Record<string, unknown> {
  const state = jobStateAt(job, ctx.t);
  const created = ctx.startTime + job.createdAt * 1000;
  const reachedAt = ctx.startTime + state.since * 1000;
  const download = job.deliveryType === "download";
  const ready = state.status === "COMPLETED";
  const body: Record<string, unknown> = {};
  body["cancelled"] = state.status === "CANCELLED";
  body["deliveryType"] = job.deliveryType;
  // A URL the simulator does not serve: nothing in this project downloads snapshots.
  body["deliveryUrl"] =
    download && ready ? [`${ctx.baseUrl}/backup/restore/v2/pull/${job.id}/snapshot.tar.gz`] : [];
  body["expired"] = state.status === "EXPIRED";
  if (download && ready) body["expiresAt"] = isoSeconds(reachedAt + DEDICATED_DOWNLOAD_LIFETIME_MS);
  body["failed"] = state.status === "FAILED";
  if (ready && !download) body["finishedAt"] = isoSeconds(reachedAt);
  body["id"] = job.id;
  body["links"] = [{ href: `${ctx.baseUrl}${ctx.selfPath}`, rel: "self" }];
  if (job.deliveryType === "pointInTime") {
    body["pointInTimeUTCSeconds"] = Math.floor((created - SNAPSHOT_LEAD_MS) / 1000);
  }
  body["snapshotId"] = job.snapshotId;
  if (!download) {
    if (CLUSTER_NAME_PATTERN.test(job.targetDeploymentItemName)) {
      body["targetClusterName"] = job.targetDeploymentItemName;
    }
    body["targetDeploymentItemName"] = job.targetDeploymentItemName;
    body["targetGroupId"] = job.targetProjectId;
  }
  body["timestamp"] = isoSeconds(created - SNAPSHOT_LEAD_MS);
  return body;
}
