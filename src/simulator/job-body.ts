/** Renders a restore job as each family's JSON body, the way Atlas shows it. */
import type { ApiFamily } from "../atlas/model.js";
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
