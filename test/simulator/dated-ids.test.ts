import { describe, expect, it } from "vitest";
import { datedForRun, parseScenario } from "../../src/simulator/index.js";
import { GROUP } from "../support/fixtures.js";

const START = Date.parse("2026-12-02T12:00:00Z"); // 0x6b100840 seconds

describe("datedForRun", () => {
  const scenario = parseScenario({
    clusters: [
      { groupId: GROUP, name: "Prod0", kind: "dedicated" },
      { groupId: GROUP, name: "Flex0", kind: "flex" },
    ],
    jobs: [
      {
        groupId: GROUP,
        clusterName: "Prod0",
        id: "6a793f81d2c4a03c5e4b1f40",
        script: [{ afterSeconds: 0, status: "RUNNING" }],
      },
      {
        groupId: GROUP,
        clusterName: "Prod0",
        id: "6a793f81d2c4a03c5e4b1f41",
        createdAfterSeconds: 16,
        script: [{ afterSeconds: 16, status: "RUNNING" }],
      },
      {
        groupId: GROUP,
        clusterName: "Flex0",
        id: "6a793f81d2c4a03c5e4b1f42",
        script: [{ afterSeconds: 0, status: "RUNNING" }],
      },
    ],
  });

  it("dates a dedicated job's id to the run's start plus its creation, keeping the rest", () => {
    expect(datedForRun(scenario, START).jobs.map((job) => job.id)).toEqual([
      "6b100840d2c4a03c5e4b1f40",
      "6b100850d2c4a03c5e4b1f41",
      "6a793f81d2c4a03c5e4b1f42",
    ]);
  });

  it("leaves the scenario it was given as it was", () => {
    datedForRun(scenario, START);
    expect(scenario.jobs[0]?.id).toBe("6a793f81d2c4a03c5e4b1f40");
  });
});
