/** The per-cluster report of a 403 on dedicated restore reads: once, naming the role. */
import { describe, expect, it } from "vitest";
import { AtlasHttpError } from "../../src/atlas/errors.js";
import type { ApiFamily } from "../../src/atlas/model.js";
import type { Logger } from "../../src/logger.js";
import { AccessDeniedReporter } from "../../src/polling/access-denied.js";
import type { JobState } from "../../src/tracker/job-state.js";
import type { TrackerEvent } from "../../src/tracker/tracker.js";

const context = { operation: "get dedicated restore job", target: "/x" };

/** A logger that records warn lines' fields. */
function recorder() {
  const warned: Record<string, unknown>[] = [];
  const logger = { warn: (fields: Record<string, unknown>) => warned.push(fields) };
  return { logger: logger as unknown as Logger, warned };
}

function state(clusterName: string, restoreId: string, api: ApiFamily = "dedicated"): JobState {
  return { groupId: "32b6e34b3d91647abb20e7b8", clusterName, restoreId, api, status: null };
}

function refused(status: number, errorCode?: string): TrackerEvent[] {
  const error = new AtlasHttpError({ status, ...(errorCode ? { errorCode } : {}) }, context);
  return [{ type: "poll_error", kind: error.kind, previousKind: undefined, error }];
}

describe("AccessDeniedReporter", () => {
  it("reports a cluster once however many of its jobs are refused, until one is read", () => {
    const { logger, warned } = recorder();
    const reporter = new AccessDeniedReporter();
    reporter.observe(logger, state("Prod0", "a"), refused(403, "USER_UNAUTHORIZED"), false);
    reporter.observe(logger, state("Prod0", "b"), refused(403, "USER_UNAUTHORIZED"), false);
    reporter.observe(logger, state("Prod1", "c"), refused(403), false);
    expect(warned).toEqual([
      {
        event: "restore_access_denied",
        groupId: "32b6e34b3d91647abb20e7b8",
        clusterName: "Prod0",
        api: "dedicated",
        status: 403,
        errorCode: "USER_UNAUTHORIZED",
        requiredRole: "Project Backup Manager",
      },
      {
        event: "restore_access_denied",
        groupId: "32b6e34b3d91647abb20e7b8",
        clusterName: "Prod1",
        api: "dedicated",
        status: 403,
        errorCode: undefined,
        requiredRole: "Project Backup Manager",
      },
    ]);
    reporter.observe(logger, state("Prod0", "a"), [], true);
    reporter.observe(logger, state("Prod0", "a"), refused(403), false);
    expect(warned.map((w) => w["clusterName"])).toEqual(["Prod0", "Prod1", "Prod0"]);
  });

  it("reports a watched dedicated cluster's refused LIST once, until a LIST succeeds", () => {
    const { logger, warned } = recorder();
    const reporter = new AccessDeniedReporter();
    const cluster = { groupId: "32b6e34b3d91647abb20e7b8", clusterName: "Prod0" };
    const forbidden = new AtlasHttpError({ status: 403, errorCode: "USER_UNAUTHORIZED" }, context);
    reporter.listed(logger, cluster, forbidden);
    reporter.listed(logger, cluster, forbidden);
    reporter.listed(logger, cluster, new AtlasHttpError({ status: 500 }, context));
    reporter.listed(logger, cluster, undefined);
    reporter.listed(logger, cluster, forbidden);
    expect(
      warned.map((w) => [w["event"], w["clusterName"], w["errorCode"], w["requiredRole"]]),
    ).toEqual([
      ["restore_access_denied", "Prod0", "USER_UNAUTHORIZED", "Project Backup Manager"],
      ["restore_access_denied", "Prod0", "USER_UNAUTHORIZED", "Project Backup Manager"],
    ]);
  });

  it("reports a 403 saved before a restart once, with its errorCode", () => {
    const { logger, warned } = recorder();
    const reporter = new AccessDeniedReporter();
    const saved = { ...state("Prod0", "a"), errorKind: "http_403_USER_UNAUTHORIZED" };
    reporter.observe(logger, saved, [], false);
    reporter.observe(logger, saved, [], false);
    expect(warned.map((w) => [w["clusterName"], w["errorCode"]])).toEqual([
      ["Prod0", "USER_UNAUTHORIZED"],
    ]);
  });

  it.each<[string, ApiFamily, TrackerEvent[]]>([
    ["a 403 on a Flex job", "flex", refused(403)],
    ["a 401 on a dedicated job", "dedicated", refused(401)],
    ["a 404 on a dedicated job", "dedicated", refused(404, "RESOURCE_NOT_FOUND")],
    ["a failure without an event or a saved 403", "dedicated", []],
  ])("says nothing for %s", (_name, api, events) => {
    const { logger, warned } = recorder();
    new AccessDeniedReporter().observe(logger, state("Prod0", "a", api), events, false);
    expect(warned).toEqual([]);
  });
});
