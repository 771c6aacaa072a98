import { describe, expect, it } from "vitest";
import { formatLogLine } from "../../src/commands/log-format.js";

const JOB = {
  service: "atlas-restore-watch",
  groupId: "32b6e34b3d91647abb20e7b8",
  clusterName: "Cluster0",
  restoreId: "6a793f81d2c4a03c5e4b1f21",
  api: "tenant",
};
const TIME = Date.parse("2026-11-29T03:15:30Z");

function line(fields: Record<string, unknown>): string {
  return JSON.stringify({ time: TIME, ...fields });
}

describe("formatLogLine", () => {
  it.each([
    [
      {
        level: 50,
        ...JOB,
        event: "restore_transition",
        from: "RUNNING",
        to: "FAILED",
        previousStatusSeconds: 8,
        durationSeconds: 14.2,
        msg: "restore job status changed",
      },
      "03:15:30 ERROR Cluster0 6a793f81d2c4a03c5e4b1f21 (tenant): RUNNING → FAILED after 8 s, 14 s from scheduled to finished",
    ],
    [
      {
        level: 30,
        ...JOB,
        event: "restore_transition",
        from: null,
        to: "PENDING",
        msg: "restore job status changed",
      },
      "03:15:30 INFO  Cluster0 6a793f81d2c4a03c5e4b1f21 (tenant): first seen, PENDING",
    ],
    [
      {
        level: 30,
        ...JOB,
        event: "restore_transition",
        from: "RUNNING",
        to: "UNKNOWN",
        rawStatus: "CANCELLED",
        msg: "restore job status changed",
      },
      "03:15:30 INFO  Cluster0 6a793f81d2c4a03c5e4b1f21 (tenant): RUNNING → UNKNOWN (CANCELLED)",
    ],
    [
      {
        level: 40,
        ...JOB,
        event: "restore_poll_error",
        errorKind: "http_404_CLUSTER_NOT_FOUND",
        status: 404,
        errorCode: "CLUSTER_NOT_FOUND",
        detail: "No cluster named Cluster0.",
        msg: "restore job poll failed",
      },
      "03:15:30 WARN  Cluster0 6a793f81d2c4a03c5e4b1f21 (tenant): poll failed, http_404_CLUSTER_NOT_FOUND HTTP 404 CLUSTER_NOT_FOUND: No cluster named Cluster0.",
    ],
    [
      {
        level: 30,
        ...JOB,
        event: "restore_poll_recovered",
        previousErrorKind: "timeout_headers",
        msg: "restore job poll recovered",
      },
      "03:15:30 INFO  Cluster0 6a793f81d2c4a03c5e4b1f21 (tenant): polls succeed again (after timeout_headers)",
    ],
    [
      {
        level: 40,
        ...JOB,
        api: undefined,
        event: "restore_api_switched",
        from: "tenant",
        to: "flex",
        reason: "version_gone",
        msg: "restore job moved to another endpoint family",
      },
      "03:15:30 WARN  Cluster0 6a793f81d2c4a03c5e4b1f21: moved from the tenant to the flex API (version_gone)",
    ],
    [
      {
        level: 40,
        service: "atlas-restore-watch",
        event: "restore_api_deprecated",
        api: "tenant",
        deprecation: "2024-11-13T00:00:00.000Z",
        msg: "Atlas announced the end of a restore endpoint family",
      },
      "03:15:30 WARN  Atlas announced the end of the tenant API: deprecated 2024-11-13T00:00:00.000Z, sunset not given",
    ],
    [
      {
        level: 30,
        service: "atlas-restore-watch",
        event: "daemon_started",
        version: "0.1.0",
        jobs: 4,
        schedule: "*/2 * * * * *",
        api: "auto",
        listen: "127.0.0.1:9917",
        auth: "apiKey",
        msg: "atlas-restore-watch started",
      },
      '03:15:30 INFO  started 0.1.0: 4 jobs, schedule "*/2 * * * * *", api auto, apiKey, listening on 127.0.0.1:9917',
    ],
    [
      {
        level: 30,
        event: "daemon_started",
        version: "0.1.0",
        jobs: 1,
        watch: 2,
        schedule: "*/2 * * * * *",
        api: "auto",
        listen: "127.0.0.1:9917",
        auth: "serviceAccount",
        msg: "atlas-restore-watch started",
      },
      '03:15:30 INFO  started 0.1.0: 1 jobs, 2 watch entries, schedule "*/2 * * * * *", api auto, serviceAccount, listening on 127.0.0.1:9917',
    ],
    [
      {
        level: 30,
        event: "cluster_watch_started",
        groupId: "32b6e34b3d91647abb20e7b8",
        clusterName: "Flex1",
        api: "flex",
        source: "project",
        msg: "watching a cluster's restore jobs",
      },
      "03:15:30 INFO  watching Flex1 in project 32b6e34b3d91647abb20e7b8 (found by project)",
    ],
    [
      {
        level: 30,
        event: "config_reloaded",
        jobs: 0,
        watch: 3,
        restartRequired: ["listen"],
        msg: "configuration reloaded; some settings need a restart",
      },
      "03:15:30 INFO  configuration reloaded: 0 jobs, 3 watch entries; needs a restart: listen",
    ],
    [
      {
        level: 50,
        event: "config_reload_failed",
        problems: ['watch[0].orgId: "x" is not a 24-character lowercase hexadecimal id'],
        msg: "configuration reload failed; the running configuration stays",
      },
      '03:15:30 ERROR configuration not reloaded, the running one stays: watch[0].orgId: "x" is not a 24-character lowercase hexadecimal id',
    ],
    [
      {
        level: 40,
        service: "atlas-restore-watch",
        event: "state_save_failed",
        error: "EACCES",
        msg: "state could not be saved; polling goes on",
      },
      "03:15:30 WARN  state could not be saved; polling goes on error=EACCES",
    ],
  ])("%o", (fields, expected) => {
    expect(formatLogLine(line(fields))).toBe(expected);
  });

  it("colours WARN and worse for a terminal only", () => {
    const error = line({ level: 50, msg: "bad" });
    expect(formatLogLine(error, true)).toBe("03:15:30 \u001b[31mERROR\u001b[0m bad");
    expect(formatLogLine(error, false)).toBe("03:15:30 ERROR bad");
    expect(formatLogLine(line({ level: 30, msg: "fine" }), true)).toBe("03:15:30 INFO  fine");
  });

  it("shows a line that is not the daemon's JSON as it is", () => {
    expect(formatLogLine("not json {")).toBe("not json {");
    expect(formatLogLine('{"no":"level"}')).toBe('{"no":"level"}');
    expect(formatLogLine("42")).toBe("42");
  });
});
