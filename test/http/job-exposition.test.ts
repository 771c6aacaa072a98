import { describe, expect, it } from "vitest";
import { escapeLabelValue, renderJobFamilies } from "../../src/http/job-exposition.js";
import type { JobState } from "../../src/tracker/job-state.js";

const job: JobState = {
  groupId: "32b6e34b3d91647abb20e7b8",
  clusterName: "Cluster0",
  restoreId: "6a793f81d2c4a03c5e4b1f20",
  api: "flex",
  status: "COMPLETED",
  info: {
    deliveryType: "DOWNLOAD",
    snapshotId: "5f4007f327a3bd7b6f4103c5",
    targetProjectId: "32b6e34b3d91647abb20e7b8",
    targetDeploymentItemName: "Cluster1",
    scheduledAt: 1_764_410_400_000,
    finishedAt: 1_764_410_463_500,
  },
  lastTransitionAt: 1_764_410_470_000,
  lastSuccessAt: 1_764_410_470_000,
  terminalSince: 1_764_410_470_000,
};

describe("renderJobFamilies", () => {
  it("writes every family of a job in the text format", () => {
    const ids =
      'group_id="32b6e34b3d91647abb20e7b8",cluster_name="Cluster0",restore_id="6a793f81d2c4a03c5e4b1f20"';
    expect(renderJobFamilies([job])).toBe(
      [
        "# HELP atlas_restore_job_status Current status of a restore job: 1 for the current status, 0 for the others of its family.",
        "# TYPE atlas_restore_job_status gauge",
        `atlas_restore_job_status{${ids},api="flex",status="PENDING"} 0`,
        `atlas_restore_job_status{${ids},api="flex",status="QUEUED"} 0`,
        `atlas_restore_job_status{${ids},api="flex",status="RUNNING"} 0`,
        `atlas_restore_job_status{${ids},api="flex",status="COMPLETED"} 1`,
        `atlas_restore_job_status{${ids},api="flex",status="FAILED"} 0`,
        `atlas_restore_job_status{${ids},api="flex",status="UNKNOWN"} 0`,
        "# HELP atlas_restore_job_info Static properties of a restore job, always 1.",
        "# TYPE atlas_restore_job_info gauge",
        `atlas_restore_job_info{${ids},api="flex",delivery_type="DOWNLOAD",snapshot_id="5f4007f327a3bd7b6f4103c5",target_project_id="32b6e34b3d91647abb20e7b8",target_deployment="Cluster1"} 1`,
        "# HELP atlas_restore_job_scheduled_timestamp_seconds When Atlas scheduled the restore (restoreScheduledDate; for a dedicated job, its id's creation time), as a Unix timestamp.",
        "# TYPE atlas_restore_job_scheduled_timestamp_seconds gauge",
        `atlas_restore_job_scheduled_timestamp_seconds{${ids}} 1764410400`,
        "# HELP atlas_restore_job_finished_timestamp_seconds When Atlas finished the restore (restoreFinishedDate; for a dedicated job, finishedAt), as a Unix timestamp.",
        "# TYPE atlas_restore_job_finished_timestamp_seconds gauge",
        `atlas_restore_job_finished_timestamp_seconds{${ids}} 1764410463.5`,
        "# HELP atlas_restore_job_last_transition_timestamp_seconds When the daemon saw the job's status change last, as a Unix timestamp.",
        "# TYPE atlas_restore_job_last_transition_timestamp_seconds gauge",
        `atlas_restore_job_last_transition_timestamp_seconds{${ids}} 1764410470`,
        "# HELP atlas_restore_job_last_success_timestamp_seconds When Atlas last answered a poll of the job successfully, as a Unix timestamp.",
        "# TYPE atlas_restore_job_last_success_timestamp_seconds gauge",
        `atlas_restore_job_last_success_timestamp_seconds{${ids}} 1764410470`,
        "# HELP atlas_restore_job_poll_success 1 when the last poll of a restore job succeeded, 0 when it failed.",
        "# TYPE atlas_restore_job_poll_success gauge",
        `atlas_restore_job_poll_success{${ids},api="flex"} 1`,
        "",
      ].join("\n"),
    );
  });

  it("writes nothing without jobs, and leaves out families with no sample", () => {
    expect(renderJobFamilies([])).toBe("");
    const unseen: JobState = {
      groupId: job.groupId,
      clusterName: job.clusterName,
      restoreId: job.restoreId,
      api: "flex",
      status: null,
      errorKind: "decode",
    };
    expect(renderJobFamilies([unseen])).toBe(
      [
        "# HELP atlas_restore_job_poll_success 1 when the last poll of a restore job succeeded, 0 when it failed.",
        "# TYPE atlas_restore_job_poll_success gauge",
        'atlas_restore_job_poll_success{group_id="32b6e34b3d91647abb20e7b8",cluster_name="Cluster0",restore_id="6a793f81d2c4a03c5e4b1f20",api="flex"} 0',
        "",
      ].join("\n"),
    );
  });

  it("exports a dedicated job's four statuses, CANCELLED among them, and no PENDING or UNKNOWN", () => {
    const cancelled: JobState = {
      ...job,
      api: "dedicated",
      status: "CANCELLED",
      info: { deliveryType: "download", scheduledAt: 1_764_410_400_000 },
    };
    const statusLines = renderJobFamilies([cancelled, job])
      .split("\n")
      .filter((line) => line.startsWith("atlas_restore_job_status{"))
      .map((line) => line.replace(/^.*api="(\w+)",status="(\w+)"\} (\d)$/, "$1 $2 $3"));
    expect(statusLines).toEqual([
      "dedicated RUNNING 0",
      "dedicated COMPLETED 0",
      "dedicated FAILED 0",
      "dedicated CANCELLED 1",
      "flex PENDING 0",
      "flex QUEUED 0",
      "flex RUNNING 0",
      "flex COMPLETED 1",
      "flex FAILED 0",
      "flex UNKNOWN 0",
    ]);
  });

  it.each([
    ["plain", "plain"],
    ['a "quoted" name', 'a \\"quoted\\" name'],
    ["back\\slash", "back\\\\slash"],
    ["two\nlines", "two\\nlines"],
  ])("escapes the label value %j", (value, escaped) => {
    expect(escapeLabelValue(value)).toBe(escaped);
  });
});
