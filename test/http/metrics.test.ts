import { describe, expect, it } from "vitest";
import { expositionText } from "../../src/http/exposition-response.js";
import { createMetrics } from "../../src/http/metrics.js";
import { trackedOf, type JobSnapshot } from "../../src/tracker/job-state.js";

const T0 = Date.parse("2026-11-29T10:00:00Z");
const running: JobSnapshot = {
  groupId: "32b6e34b3d91647abb20e7b8",
  clusterName: "Cluster0",
  restoreId: "6a793f81d2c4a03c5e4b1f20",
  api: "tenant",
  status: "RUNNING",
  info: {
    deliveryType: "RESTORE",
    snapshotId: "5f4007f327a3bd7b6f4103c5",
    targetProjectId: "32b6e34b3d91647abb20e7b8",
    targetDeploymentItemName: "Cluster1",
    scheduledAt: T0 - 60_000,
  },
  lastTransitionAt: T0 - 30_000,
  lastSuccessAt: T0,
};
const failedLongAgo: JobSnapshot = {
  ...running,
  restoreId: "6a793f81d2c4a03c5e4b1f21",
  api: "flex",
  status: "FAILED",
  terminalSince: T0 - 25 * 3600_000,
};
const neverSeen: JobSnapshot = {
  groupId: running.groupId,
  clusterName: running.clusterName,
  restoreId: "6a793f81d2c4a03c5e4b1f22",
  api: "tenant",
  status: null,
  errorKind: "http_404_CLUSTER_NOT_FOUND",
};

function metricsFor(jobs: JobSnapshot[]) {
  const metrics = createMetrics(
    { jobs: () => jobs.map(trackedOf), now: () => T0, retentionMs: 24 * 3600_000 },
    "1.2.3",
  );
  return {
    ...metrics,
    /** The exposition as one text. */
    render: async () => expositionText(await metrics.render()).toString(),
  };
}

const ids = 'group_id="32b6e34b3d91647abb20e7b8",cluster_name="Cluster0"';

describe("job series, derived at scrape time", () => {
  it("exports the status as a state set", async () => {
    const text = await metricsFor([running]).render();
    expect(text).toContain(
      [
        "# HELP atlas_restore_job_status Current status of a restore job: 1 for the current status, 0 for the others of its family.",
        "# TYPE atlas_restore_job_status gauge",
        ...["PENDING", "QUEUED", "RUNNING", "COMPLETED", "FAILED", "UNKNOWN"].map(
          (status) =>
            `atlas_restore_job_status{${ids},restore_id="6a793f81d2c4a03c5e4b1f20",api="tenant",status="${status}"} ${status === "RUNNING" ? 1 : 0}`,
        ),
      ].join("\n"),
    );
  });

  it("exports info and timestamps in seconds", async () => {
    const text = await metricsFor([running]).render();
    const r = 'restore_id="6a793f81d2c4a03c5e4b1f20"';
    expect(text).toContain(
      `atlas_restore_job_info{${ids},${r},api="tenant",delivery_type="RESTORE",snapshot_id="5f4007f327a3bd7b6f4103c5",target_project_id="32b6e34b3d91647abb20e7b8",target_deployment="Cluster1"} 1`,
    );
    expect(text).toContain(
      `atlas_restore_job_scheduled_timestamp_seconds{${ids},${r}} ${(T0 - 60_000) / 1000}`,
    );
    expect(text).toContain(
      `atlas_restore_job_last_transition_timestamp_seconds{${ids},${r}} ${(T0 - 30_000) / 1000}`,
    );
    expect(text).toContain(
      `atlas_restore_job_last_success_timestamp_seconds{${ids},${r}} ${T0 / 1000}`,
    );
    expect(text).not.toContain("atlas_restore_job_finished_timestamp_seconds{");
    expect(text).toContain(`atlas_restore_job_poll_success{${ids},${r},api="tenant"} 1`);
  });

  it("drops a finished job after the retention and shows a job that never answered", async () => {
    const text = await metricsFor([failedLongAgo, neverSeen]).render();
    expect(text).not.toContain("6a793f81d2c4a03c5e4b1f21");
    expect(text).not.toMatch(/atlas_restore_job_status\{/);
    expect(text).toContain(
      `atlas_restore_job_poll_success{${ids},restore_id="6a793f81d2c4a03c5e4b1f22",api="tenant"} 0`,
    );
  });

  it("follows the snapshot: a series disappears when its job changes family", async () => {
    const jobs = [running];
    const metrics = metricsFor(jobs);
    expect(await metrics.render()).toContain('api="tenant",status="RUNNING"} 1');
    jobs[0] = { ...running, api: "flex" };
    const text = await metrics.render();
    expect(text).toContain('api="flex",status="RUNNING"} 1');
    expect(text).not.toContain('api="tenant",status="RUNNING"');
  });

  it("shows a job's new status at the next scrape, and no more a job that left", async () => {
    const other = { ...running, restoreId: "6a793f81d2c4a03c5e4b1f23" };
    const jobs = [running, other];
    const metrics = metricsFor(jobs);
    expect(await metrics.render()).toContain('restore_id="6a793f81d2c4a03c5e4b1f23"');
    jobs[0] = { ...running, status: "COMPLETED", lastTransitionAt: T0 };
    jobs.pop();
    const text = await metrics.render();
    expect(text).toContain('api="tenant",status="COMPLETED"} 1');
    expect(text).toContain('api="tenant",status="RUNNING"} 0');
    expect(text).not.toContain('restore_id="6a793f81d2c4a03c5e4b1f23"');
  });
});

describe("event metrics", () => {
  it("counts transitions, requests, cycles and the API state", async () => {
    const metrics = metricsFor([]);
    metrics.transition("tenant", null, "PENDING");
    metrics.transition("tenant", "PENDING", "RUNNING");
    metrics.transition("tenant", "PENDING", "RUNNING");
    metrics.observeRequest({ api: "flex", code: "200", durationSeconds: 0.2 });
    metrics.observeRequest({ api: "flex", code: "timeout", durationSeconds: 30 });
    metrics.cycleSkipped();
    metrics.setApiUp(true);
    metrics.setSunset("tenant", "config", Date.parse("2026-01-22T00:00:00Z"));
    metrics.setRateLimitRemaining("flex", 42);
    const text = await metrics.render();
    for (const line of [
      'atlas_restore_transitions_total{api="tenant",from="NEW",to="PENDING"} 1',
      'atlas_restore_transitions_total{api="tenant",from="PENDING",to="RUNNING"} 2',
      'atlas_restore_api_requests_total{api="flex",code="200"} 1',
      'atlas_restore_api_requests_total{api="flex",code="timeout"} 1',
      'atlas_restore_api_request_duration_seconds_bucket{le="0.25",api="flex"} 1',
      'atlas_restore_api_request_duration_seconds_count{api="flex"} 2',
      "atlas_restore_poll_cycles_skipped_total 1",
      "atlas_restore_api_up 1",
      'atlas_restore_api_sunset_timestamp_seconds{api="tenant",source="config"} 1769040000',
      'atlas_restore_api_rate_limit_remaining{api="flex"} 42',
      'atlas_restore_build_info{version="1.2.3"} 1',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).toContain("process_resident_memory_bytes");
    expect(text).toContain("nodejs_eventloop_lag_seconds");
  });

  it("has no API verdict until one is made, then keeps the last", async () => {
    const metrics = metricsFor([]);
    expect(metrics.apiUp()).toBeUndefined();
    expect(await metrics.render()).not.toMatch(/^atlas_restore_api_up/m);
    metrics.setApiUp(false);
    expect(await metrics.render()).toMatch(/^atlas_restore_api_up 0$/m);
    metrics.setApiUp(true);
    expect(await metrics.render()).toMatch(/^atlas_restore_api_up 1$/m);
    expect(metrics.apiUp()).toBe(true);
  });
});
