import { describe, expect, it } from "vitest";
import { decodeRestoreJob } from "../../src/atlas/decode.js";

const ID = "6a793f81d2c4a03c5e4b1f20";
const base = {
  id: ID,
  status: "RUNNING",
  deliveryType: "RESTORE",
  snapshotId: "6a793f81d2c4a03c5e4b1f99",
  restoreScheduledDate: "2026-11-29T03:15:16Z",
  targetDeploymentItemName: "Target0",
};

describe("decodeRestoreJob", () => {
  it.each(["tenant", "flex"] as const)(
    "reads the %s status whatever Atlas puts in the fields it only shows",
    (api) => {
      const long = "é".repeat(300);
      const decoded = decodeRestoreJob(api, {
        ...base,
        deliveryType: "POINT_IN_TIME_SOMETHING_NEW",
        targetDeploymentItemName: long,
        snapshotId: "not-an-object-id",
        targetProjectId: 42,
        clusterName: "-odd name",
        instanceName: { nested: true },
      });
      expect(decoded).toEqual({
        ok: true,
        job: {
          id: ID,
          status: "RUNNING",
          rawStatus: "RUNNING",
          deliveryType: "POINT_IN_TIME_SOMETHING_NEW",
          targetDeploymentItemName: "é".repeat(200),
          snapshotId: "not-an-object-id",
          restoreScheduledDate: "2026-11-29T03:15:16Z",
          ...(api === "tenant" ? { clusterName: "-odd name" } : {}),
        },
      });
    },
  );

  it.each([
    ["id", { id: "xyz" }, "id: is not a 24-character hexadecimal id"],
    ["status", { status: "" }, "status: is empty"],
    [
      "dates",
      { restoreScheduledDate: "yesterday" },
      "restoreScheduledDate: is not an ISO-8601 date-time",
    ],
  ])("stays strict on the %s it decides on", (_what, patch, problem) => {
    expect(decodeRestoreJob("flex", { ...base, ...patch })).toEqual({
      ok: false,
      problems: [problem],
    });
  });
});
