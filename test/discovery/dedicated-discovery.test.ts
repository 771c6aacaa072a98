/**
 * Discovery of a project's dedicated clusters with hand-written listers: dedicated clusters are
 * watched on the dedicated family, Flex wins a shared name, a brief 404 CLUSTER_NOT_FOUND from the
 * clusters list keeps what the last listing found, and a 404 GROUP_NOT_FOUND drops it.
 */
import { describe, expect, it } from "vitest";
import type { ClusterSummary } from "../../src/atlas/decode-clusters.js";
import { AtlasHttpError } from "../../src/atlas/errors.js";
import { Discovery } from "../../src/discovery/discovery.js";
import type { Metrics } from "../../src/http/metrics.js";
import type { Logger } from "../../src/logger.js";

const GROUP = "32b6e34b3d91647abb20e7b8";
const context = { signal: new AbortController().signal, deadline: Number.POSITIVE_INFINITY };
const quiet = { info: () => undefined, warn: () => undefined } as unknown as Logger;
const metrics = {
  discoverySucceeded: () => undefined,
  discoveryFailed: () => undefined,
} as unknown as Metrics;

function notFound(errorCode: string): AtlasHttpError {
  return new AtlasHttpError(
    { status: 404, errorCode },
    { operation: "list clusters", target: `/api/atlas/v2/groups/${GROUP}/clusters` },
  );
}

describe("Discovery: a project's dedicated clusters", () => {
  it("watches them, lets Flex win a name, survives a brief CLUSTER_NOT_FOUND", async () => {
    const answers: (ClusterSummary[] | AtlasHttpError)[] = [
      [
        { name: "Prod0", tier: "dedicated" },
        { name: "Both0", tier: "dedicated" },
        { name: "Shared0", tier: "tenant" },
      ],
      notFound("CLUSTER_NOT_FOUND"),
      notFound("GROUP_NOT_FOUND"),
    ];
    const discovery = new Discovery({
      listProjects: () => Promise.resolve([]),
      listClusters: () => Promise.resolve([{ name: "Flex0" }, { name: "Both0" }]),
      listAllClusters: () => {
        const next = answers.shift();
        return next instanceof AtlasHttpError ? Promise.reject(next) : Promise.resolve(next ?? []);
      },
      logger: quiet,
      metrics,
      now: () => 0,
      concurrency: 2,
    });
    discovery.setWatch([{ kind: "project", groupId: GROUP }]);
    const shown = (clusters: readonly { clusterName: string; api?: string }[]) =>
      clusters.map((c) => `${c.clusterName} ${c.api ?? "flex"}`);
    expect(shown(await discovery.round(context))).toEqual([
      "Flex0 flex",
      "Both0 flex",
      "Prod0 dedicated",
    ]);
    expect(shown(await discovery.round(context))).toEqual([
      "Flex0 flex",
      "Both0 flex",
      "Prod0 dedicated",
    ]);
    expect(shown(await discovery.round(context))).toEqual(["Flex0 flex", "Both0 flex"]);
  });
});
