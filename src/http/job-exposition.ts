/**
 * The per-job metric families, written straight to the Prometheus text format at scrape time
 * from the tracker's snapshot (as kube-state-metrics writes its families). At 1,000 jobs these
 * are some 11,000 series: building them as prom-client gauges on every scrape cost more time and
 * garbage than the rest of the daemon, so they skip the label objects and go to text at once.
 */
import { statusesOf } from "../atlas/model.js";
import type { JobState } from "../tracker/job-state.js";

/** One family: its name, help, and the value (or none) each job gets under its labels. */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly write: (job: JobState, ids: string, out: string[]) => void;
}

/** Escapes a label value for the text format: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
    : value;
}

function label(name: string, value: string): string {
  return `${name}="${escapeLabelValue(value)}"`;
}

function timestamp(
  name: string,
  help: string,
  pick: (job: JobState) => number | undefined,
): Family {
  return {
    name,
    help,
    write(job, ids, out) {
      const value = pick(job);
      if (value !== undefined) out.push(`${name}{${ids}} ${value / 1000}`);
    },
  };
}

const FAMILIES: readonly Family[] = [
  {
    name: "atlas_restore_job_status",
    help: "Current status of a restore job: 1 for the current status, 0 for the others of its family.",
    write(job, ids, out) {
      if (job.status === null) return;
      const prefix = `atlas_restore_job_status{${ids},${label("api", job.api)},status="`;
      for (const status of statusesOf(job.api)) {
        out.push(`${prefix}${status}"} ${job.status === status ? 1 : 0}`);
      }
    },
  },
  {
    name: "atlas_restore_job_info",
    help: "Static properties of a restore job, always 1.",
    write(job, ids, out) {
      if (job.status === null) return;
      const info = job.info ?? {};
      const labels = [
        ids,
        label("api", job.api),
        label("delivery_type", info.deliveryType ?? ""),
        label("snapshot_id", info.snapshotId ?? ""),
        label("target_project_id", info.targetProjectId ?? ""),
        label("target_deployment", info.targetDeploymentItemName ?? ""),
      ];
      out.push(`atlas_restore_job_info{${labels.join(",")}} 1`);
    },
  },
  timestamp(
    "atlas_restore_job_scheduled_timestamp_seconds",
    "When Atlas scheduled the restore (restoreScheduledDate; for a dedicated job, its id's creation time), as a Unix timestamp.",
    (job) => job.info?.scheduledAt,
  ),
  timestamp(
    "atlas_restore_job_finished_timestamp_seconds",
    "When Atlas finished the restore (restoreFinishedDate; for a dedicated job, finishedAt), as a Unix timestamp.",
    (job) => job.info?.finishedAt,
  ),
  timestamp(
    "atlas_restore_job_last_transition_timestamp_seconds",
    "When the daemon saw the job's status change last, as a Unix timestamp.",
    (job) => job.lastTransitionAt,
  ),
  timestamp(
    "atlas_restore_job_last_success_timestamp_seconds",
    "When Atlas last answered a poll of the job successfully, as a Unix timestamp.",
    (job) => job.lastSuccessAt,
  ),
  {
    name: "atlas_restore_job_poll_success",
    help: "1 when the last poll of a restore job succeeded, 0 when it failed.",
    write(job, ids, out) {
      if (job.status === null && job.errorKind === undefined) return;
      out.push(
        `atlas_restore_job_poll_success{${ids},${label("api", job.api)}} ${job.errorKind === undefined ? 1 : 0}`,
      );
    },
  },
];

/** Renders every job family for `jobs`, in the text format; empty families are left out. */
export function renderJobFamilies(jobs: readonly JobState[]): string {
  const ids = jobs.map(
    (job) =>
      `${label("group_id", job.groupId)},${label("cluster_name", job.clusterName)},${label("restore_id", job.restoreId)}`,
  );
  const out: string[] = [];
  for (const family of FAMILIES) {
    const start = out.length;
    out.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} gauge`);
    jobs.forEach((job, index) => family.write(job, ids[index] as string, out));
    if (out.length === start + 2) out.length = start;
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
