/** The clusters list as discovery reads it: names and tiers, Flex winning a shared name. */
import { describe, expect, it } from "vitest";
import {
  clusterTier,
  decodeClusterSummary,
  dedicatedClusterNames,
} from "../../src/atlas/decode-clusters.js";

const region = (providerName: unknown) => ({ providerName, regionName: "US_EAST_1", priority: 7 });

describe("clusterTier", () => {
  it.each<[string[], string]>([
    [["AWS"], "dedicated"],
    [["AZURE", "GCP"], "dedicated"],
    [["TENANT"], "tenant"],
    [["TENANT", "AWS"], "dedicated"],
    [["FLEX"], "unknown"],
    [[], "unknown"],
  ])("%j is %s", (providers, tier) => {
    expect(clusterTier(providers)).toBe(tier);
  });
});

describe("decodeClusterSummary", () => {
  it("reads the name and the providers of every region of every replication spec", () => {
    expect(
      decodeClusterSummary({
        name: "Prod0",
        stateName: "IDLE",
        replicationSpecs: [
          { regionConfigs: [region("TENANT")] },
          { regionConfigs: [region("GCP")] },
        ],
      }),
    ).toEqual({ ok: true, value: { name: "Prod0", tier: "dedicated" } });
  });

  it("is blind to odd region data, strict on the name", () => {
    expect(
      decodeClusterSummary({ name: "Old0", replicationSpecs: [null, { regionConfigs: "x" }] }),
    ).toEqual({ ok: true, value: { name: "Old0", tier: "unknown" } });
    expect(decodeClusterSummary({ name: "bad name" })).toEqual({
      ok: false,
      problems: ["name: is not a valid cluster name"],
    });
  });
});

describe("dedicatedClusterNames", () => {
  it("keeps dedicated clusters only, and a name on the Flex list goes to Flex", () => {
    expect(
      dedicatedClusterNames(
        [
          { name: "Prod0", tier: "dedicated" },
          { name: "Shared0", tier: "tenant" },
          { name: "Both0", tier: "dedicated" },
          { name: "Odd0", tier: "unknown" },
        ],
        ["Both0", "Flex0"],
      ),
    ).toEqual(["Prod0"]);
  });
});
