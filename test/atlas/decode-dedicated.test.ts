/**
 * Decoding of dedicated restore-job bodies: strict on the id, the flags and the dates the status
 * is derived from, lenient on what is only shown, never keeping a delivery URL.
 */
import { describe, expect, it } from "vitest";
import { decodeRestoreJob } from "../../src/atlas/decode.js";
import { objectIdTime } from "../../src/atlas/ids.js";

// 0x6a793f81 = 1786331009 = 2026-08-10T03:03:29Z: the id's creation time.
const ID = "6a793f81d2c4a03c5e4b1f21";

/** A body as recorded from Atlas: an automated restore on an M10, finished. */
const RECORDED = {
  cancelled: false,
  deliveryType: "automated",
  deliveryUrl: [],
  expired: false,
  failed: false,
  finishedAt: "2026-08-10T03:45:30Z",
  id: ID,
  links: [{ href: "https://cloud.mongodb.com/api/atlas/v2/groups/x", rel: "self" }],
  snapshotId: "6a793e00d2c4a03c5e4b1f00",
  targetClusterName: "Cluster1",
  targetDeploymentItemName: "cluster1-shard-0",
  targetGroupId: "32b6e34b3d91647abb20e7b8",
  timestamp: "2026-08-10T02:00:05Z",
};

describe("decodeRestoreJob('dedicated')", () => {
  it("derives the status, takes the id's time as scheduled and finishedAt as finished", () => {
    const decoded = decodeRestoreJob("dedicated", RECORDED);
    expect(decoded).toEqual({
      ok: true,
      job: {
        id: ID,
        status: "COMPLETED",
        rawStatus: "COMPLETED",
        deliveryType: "automated",
        snapshotId: "6a793e00d2c4a03c5e4b1f00",
        targetProjectId: "32b6e34b3d91647abb20e7b8",
        targetDeploymentItemName: "cluster1-shard-0",
        restoreScheduledDate: "2026-08-10T03:03:29Z",
        restoreFinishedDate: "2026-08-10T03:45:30Z",
        flags: {
          failed: false,
          cancelled: false,
          expired: false,
          finished: true,
          deliveryUrls: 0,
          componentUrls: 0,
        },
      },
    });
    expect(objectIdTime(ID)).toBe(Date.parse("2026-08-10T03:03:29Z"));
  });

  it("a download with its URL is COMPLETED; the URL is counted, never kept", () => {
    const url = "https://restore.example/pull/abc?signature=never-logged";
    const decoded = decodeRestoreJob("dedicated", {
      ...RECORDED,
      deliveryType: "download",
      deliveryUrl: [url],
      expiresAt: "2026-08-10T05:41:21Z",
      finishedAt: undefined,
      targetClusterName: undefined,
      targetDeploymentItemName: undefined,
    });
    expect(decoded.ok && decoded.job.status).toBe("COMPLETED");
    expect(decoded.ok && decoded.job.expirationDate).toBe("2026-08-10T05:41:21Z");
    expect(decoded.ok && decoded.job.flags?.deliveryUrls).toBe(1);
    expect(JSON.stringify(decoded)).not.toContain("never-logged");
  });

  it("falls back to targetClusterName when targetDeploymentItemName is absent", () => {
    const decoded = decodeRestoreJob("dedicated", {
      ...RECORDED,
      targetDeploymentItemName: undefined,
    });
    expect(decoded.ok && decoded.job.targetDeploymentItemName).toBe("Cluster1");
  });

  it("absent flags count as false: a job with only an id and a type is RUNNING", () => {
    const decoded = decodeRestoreJob("dedicated", { id: ID, deliveryType: "automated" });
    expect(decoded.ok && decoded.job.status).toBe("RUNNING");
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      "a flag that is not a boolean",
      { failed: "true" },
      ["failed: Invalid input: expected boolean, received string"],
    ],
    [
      "finishedAt that is not a date",
      { finishedAt: "yesterday" },
      ["finishedAt: is not an ISO-8601 date-time"],
    ],
    [
      "deliveryUrl that is not a list",
      { deliveryUrl: "https://x" },
      ["deliveryUrl: Invalid input: expected array, received string"],
    ],
    ["an id that is not one", { id: "nope" }, ["id: is not a 24-character hexadecimal id"]],
  ])("refuses %s", (_name, change, problems) => {
    expect(decodeRestoreJob("dedicated", { ...RECORDED, ...change })).toEqual({
      ok: false,
      problems,
    });
  });

  it("keeps display fields leniently: an unknown deliveryType, a long name, a bad expiresAt", () => {
    const decoded = decodeRestoreJob("dedicated", {
      ...RECORDED,
      deliveryType: "snapshotCopy",
      targetDeploymentItemName: "x".repeat(500),
      expiresAt: "soon",
      snapshotId: 42,
    });
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.job.deliveryType).toBe("snapshotCopy");
    expect(decoded.job.targetDeploymentItemName).toHaveLength(200);
    expect(decoded.job.expirationDate).toBeUndefined();
    expect(decoded.job.snapshotId).toBeUndefined();
    expect(decoded.job.status).toBe("COMPLETED");
  });
});
