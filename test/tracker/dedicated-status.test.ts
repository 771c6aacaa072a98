/**
 * The status of a dedicated restore job, derived from its flags row by row as the table in the
 * project's Atlas notes (and MongoDB's CLI) orders them, and how the tracker follows it.
 */
import { describe, expect, it } from "vitest";
import type { DedicatedFlags, RestoreJob, RestoreStatus } from "../../src/atlas/model.js";
import { deriveDedicatedStatus } from "../../src/tracker/dedicated-status.js";
import { initialState, isTerminal, observeJob } from "../../src/tracker/tracker.js";

const none: DedicatedFlags = {
  failed: false,
  cancelled: false,
  expired: false,
  finished: false,
  deliveryUrls: 0,
  componentUrls: 0,
};

describe("deriveDedicatedStatus: the mapping table", () => {
  it.each<[string, Partial<DedicatedFlags>, string, boolean, RestoreStatus]>([
    ["nothing set yet", {}, "automated", false, "RUNNING"],
    ["a download without its URL yet", {}, "download", false, "RUNNING"],
    ["failed", { failed: true }, "automated", false, "FAILED"],
    ["failed wins over cancelled", { failed: true, cancelled: true }, "download", false, "FAILED"],
    ["failed wins over finishedAt", { failed: true, finished: true }, "automated", false, "FAILED"],
    ["cancelled", { cancelled: true }, "download", false, "CANCELLED"],
    [
      "cancelled wins over expired",
      { cancelled: true, expired: true },
      "download",
      false,
      "CANCELLED",
    ],
    [
      "cancelled wins over a URL",
      { cancelled: true, deliveryUrls: 1 },
      "download",
      false,
      "CANCELLED",
    ],
    ["expired, never ready", { expired: true }, "download", false, "FAILED"],
    ["expired automated restore, never finished", { expired: true }, "automated", false, "FAILED"],
    ["expired, seen ready before", { expired: true }, "download", true, "COMPLETED"],
    ["expired with finishedAt", { expired: true, finished: true }, "automated", false, "COMPLETED"],
    ["expired with its URL", { expired: true, deliveryUrls: 1 }, "download", false, "COMPLETED"],
    ["finishedAt", { finished: true }, "automated", false, "COMPLETED"],
    ["finishedAt, point in time", { finished: true }, "pointInTime", false, "COMPLETED"],
    ["download with a deliveryUrl", { deliveryUrls: 1 }, "download", false, "COMPLETED"],
    ["download with a shard's downloadUrl", { componentUrls: 2 }, "download", false, "COMPLETED"],
    [
      "a URL on an automated restore is not readiness",
      { deliveryUrls: 1 },
      "automated",
      false,
      "RUNNING",
    ],
    ["an unknown delivery type with a URL", { deliveryUrls: 1 }, "snapshotCopy", false, "RUNNING"],
  ])("%s", (_name, flags, deliveryType, seenReady, expected) => {
    expect(deriveDedicatedStatus({ ...none, ...flags }, deliveryType, seenReady)).toBe(expected);
  });
});

describe("the tracker and dedicated jobs", () => {
  const ref = {
    groupId: "32b6e34b3d91647abb20e7b8",
    clusterName: "Cluster0",
    restoreId: "6a793f81d2c4a03c5e4b1f20",
  };
  const T0 = Date.parse("2026-11-29T10:00:00Z");
  const job = (status: RestoreStatus, flags: Partial<DedicatedFlags>): RestoreJob => ({
    id: ref.restoreId,
    status,
    rawStatus: status,
    deliveryType: "download",
    flags: { ...none, ...flags },
  });

  it("CANCELLED is final: not polled again", () => {
    const step = observeJob(
      initialState(ref, "dedicated"),
      job("CANCELLED", { cancelled: true }),
      T0,
    );
    expect(step.state.status).toBe("CANCELLED");
    expect(isTerminal(step.state)).toBe(true);
    expect(step.state.terminalSince).toBe(T0);
  });

  it("a download seen ready stays COMPLETED when it later reads only expired", () => {
    const ready = observeJob(
      initialState(ref, "dedicated"),
      job("COMPLETED", { deliveryUrls: 1 }),
      T0,
    );
    const later = observeJob(ready.state, job("FAILED", { expired: true }), T0 + 3_600_000);
    expect(later.state.status).toBe("COMPLETED");
    expect(later.events).toEqual([]);
  });

  it("a download that expires without ever being ready is FAILED", () => {
    const running = observeJob(initialState(ref, "dedicated"), job("RUNNING", {}), T0);
    const later = observeJob(running.state, job("FAILED", { expired: true }), T0 + 60_000);
    expect(later.state.status).toBe("FAILED");
    expect(later.events.map((e) => e.type)).toEqual(["transition"]);
  });
});
