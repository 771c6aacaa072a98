import { describe, expect, it } from "vitest";
import { expositionText } from "../../src/http/exposition-response.js";
import { BLOCK_JOBS, escapeLabelValue, JobExposition } from "../../src/http/job-exposition.js";
import { trackedOf, type JobSnapshot } from "../../src/tracker/job-state.js";

const job: JobSnapshot = {
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

/** The job families of `jobs` as one text, rendered by `exposition` (a new one by default). */
function renderJobFamilies(jobs: readonly JobSnapshot[], exposition = new JobExposition()): string {
  return expositionText(exposition.render(jobs.map(trackedOf))).toString();
}

describe("JobExposition", () => {
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
    const unseen: JobSnapshot = {
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
    const cancelled: JobSnapshot = {
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

/** Job number `n`: `job` under another restore id, with `changes`. */
function nth(n: number, changes: Partial<JobSnapshot> = {}): JobSnapshot {
  return {
    ...job,
    restoreId: `6a793f81d2c4a03c5e4b${n.toString(16).padStart(4, "0")}`,
    ...changes,
  };
}

/** `value` without its `key`. */
function omit<T extends object, K extends keyof T>(value: T, key: K): Omit<T, K> {
  return Object.fromEntries(Object.entries(value).filter(([name]) => name !== key)) as Omit<T, K>;
}

const info = job.info ?? {};

describe("JobExposition between renders", () => {
  // Every field a family reads, changed alone: a cached render must show it as a new one does.
  it.each<[string, JobSnapshot]>([
    ["the status", { ...job, status: "RUNNING" }],
    ["the status, to none yet", { ...job, status: null }],
    ["the family", { ...job, api: "dedicated" }],
    ["the delivery type", { ...job, info: { ...info, deliveryType: "RESTORE" } }],
    ["the snapshot", { ...job, info: { ...info, snapshotId: "5f4007f327a3bd7b6f4103c6" } }],
    ["the target project", { ...job, info: { ...info, targetProjectId: "other" } }],
    ["the target deployment", { ...job, info: { ...info, targetDeploymentItemName: "Cluster2" } }],
    ["the schedule", { ...job, info: { ...info, scheduledAt: 1_764_410_401_000 } }],
    ["the finish, gone", { ...job, info: omit(info, "finishedAt") }],
    ["the info, gone", omit(job, "info")],
    ["the last transition", { ...job, lastTransitionAt: 1_764_410_471_000 }],
    ["the last success", { ...job, lastSuccessAt: 1_764_410_500_000 }],
    ["the error", { ...job, errorKind: "timeout" }],
    ["the error, with no status", { ...job, status: null, errorKind: "timeout" }],
  ])("shows a change of %s at the next render, and its undoing after", (_, changed) => {
    const exposition = new JobExposition();
    const around = (state: JobSnapshot) => [nth(1), state, nth(2)];
    const original = renderJobFamilies(around(job), exposition);
    const fresh = renderJobFamilies(around(changed));
    expect(fresh).not.toBe(original);
    expect(renderJobFamilies(around(changed), exposition)).toBe(fresh);
    expect(renderJobFamilies(around(job), exposition)).toBe(original);
  });

  it("shows a last success that moved in the tracked job itself, as the poller moves it", () => {
    const exposition = new JobExposition();
    const live = { ...trackedOf(job), lastSuccessAt: 1_764_410_470_000 };
    const success = (text: string) =>
      /^atlas_restore_job_last_success_timestamp_seconds\{.*\} (\S+)$/m.exec(text)?.[1];
    expect(success(expositionText(exposition.render([live])).toString())).toBe("1764410470");
    live.lastSuccessAt = 1_764_410_500_000;
    expect(success(expositionText(exposition.render([live])).toString())).toBe("1764410500");
    expect(success(expositionText(exposition.render([live])).toString())).toBe("1764410500");
  });

  it("exports a failing job alike whatever its error kind, and shows its recovery", () => {
    const exposition = new JobExposition();
    const failing = { ...job, errorKind: "timeout" };
    const text = renderJobFamilies([failing], exposition);
    expect(renderJobFamilies([{ ...failing, errorKind: "network" }], exposition)).toBe(text);
    expect(renderJobFamilies([job], exposition)).toBe(renderJobFamilies([job]));
  });

  it("drops a job that is no longer listed", () => {
    const exposition = new JobExposition();
    renderJobFamilies([nth(1), nth(2), nth(3)], exposition);
    const text = renderJobFamilies([nth(1), nth(3)], exposition);
    expect(text).toBe(renderJobFamilies([nth(1), nth(3)]));
    expect(text).not.toContain(nth(2).restoreId);
    expect(renderJobFamilies([], exposition)).toBe("");
  });

  it.each<[string, Partial<JobSnapshot>]>([
    ["project", { groupId: "32b6e34b3d91647abb20e7b9" }],
    ["cluster", { clusterName: "Cluster1" }],
    ["restore id", { restoreId: "6a793f81d2c4a03c5e4b1f21" }],
  ])("keeps the first order of two jobs listed the other way, told apart by %s", (_, ids) => {
    const exposition = new JobExposition();
    const other = { ...job, ...ids };
    renderJobFamilies([job, other], exposition);
    const failed = { ...other, status: "FAILED" as const };
    expect(renderJobFamilies([failed, job], exposition)).toBe(renderJobFamilies([job, failed]));
  });

  it("follows jobs that change, come and go over many renders and blocks", () => {
    const exposition = new JobExposition();
    let jobs = Array.from({ length: 700 }, (_, n) => nth(n));
    let next = jobs.length;
    const gone: JobSnapshot[] = [];
    for (let round = 1; round <= 8; round++) {
      // Some leave, from the front (past the retention) and anywhere.
      const leaves = (at: number) => at < 3 || (at + round) % 97 === 0;
      const leaving = jobs.filter((_, at) => leaves(at));
      jobs = jobs
        .filter((_, at) => !leaves(at))
        // All get a new state; some a new status.
        .map((state, at) => ({
          ...state,
          lastSuccessAt: 1_764_410_470_000 + round * 30_000,
          ...((at * 7 + round) % 50 === 0 ? { status: "RUNNING" as const } : {}),
        }));
      // Some come, one of them a job that left before: it comes back at the end.
      jobs.push(nth(next++), nth(next++), ...gone.splice(0, 1));
      gone.push(...leaving);
      // Series come in the order jobs were first rendered: here, as listed.
      expect(renderJobFamilies(jobs, exposition)).toBe(renderJobFamilies(jobs));
    }
  });

  it("merges blocks that jobs left, and follows their jobs after", () => {
    const exposition = new JobExposition();
    let jobs = Array.from({ length: 2 * BLOCK_JOBS + 88 }, (_, n) => nth(n));
    const check = () => expect(renderJobFamilies(jobs, exposition)).toBe(renderJobFamilies(jobs));
    check();
    const number = (state: JobSnapshot) => Number.parseInt(state.restoreId.slice(-4), 16);
    // Most jobs of the first block leave, then most of the second: what is left of the three
    // blocks fits in one.
    jobs = jobs.filter((state) => number(state) >= 200);
    check();
    jobs = jobs.filter((state) => number(state) < BLOCK_JOBS || number(state) >= BLOCK_JOBS + 200);
    check();
    jobs = jobs.map((state, at) => (at % 10 === 0 ? { ...state, status: "FAILED" } : state));
    check();
  });

  it("never changes the pieces it gave, and gives the same pieces for lines that did not change", () => {
    const exposition = new JobExposition();
    const jobs = Array.from({ length: 3 * BLOCK_JOBS }, (_, n) => nth(n));
    const first = exposition.render(jobs.map(trackedOf));
    const copies = first.map((piece) => expositionText([piece]));
    const moved = BLOCK_JOBS + 44;
    const second = exposition.render(
      jobs.map((state, n) =>
        trackedOf({
          ...state,
          lastSuccessAt: 1_764_410_500_000,
          ...(n === moved ? { status: "FAILED" as const } : {}),
        }),
      ),
    );
    first.forEach((piece, at) =>
      expect(expositionText([piece]).equals(copies[at] as Buffer)).toBe(true),
    );
    // Built again: the last-success lines, and the lines of the moved job's block (the second);
    // every other piece is one of the first render's.
    const rebuilt = expositionText(second.filter((piece) => !first.includes(piece)))
      .toString()
      .split("\n")
      .filter((line) => line !== "");
    const block = (line: string) =>
      Math.floor(Number.parseInt(/restore_id="\w+(\w{4})"/.exec(line)?.[1] ?? "", 16) / BLOCK_JOBS);
    expect(
      rebuilt.filter(
        (line) =>
          !line.startsWith("atlas_restore_job_last_success_timestamp_seconds{") &&
          block(line) !== 1,
      ),
    ).toEqual([]);
    expect(rebuilt.filter((line) => line.startsWith("atlas_restore_job_status{"))).toHaveLength(
      BLOCK_JOBS * 6,
    );
  });
});
