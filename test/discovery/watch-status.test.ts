/**
 * The daemon's read-only view of what it watches (for the status page), in process against the
 * simulator: organizations, projects and clusters with their last listing, a cluster gone (404),
 * a project the listing refuses, and the last reload.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.js";
import { SERVICE_ACCOUNT_CREDENTIALS, T0, id, startSim } from "../support/fixtures.js";
import { startInProcess, type InProcessDaemon } from "../support/in-process.js";

const ORG = "6a0000000000000000000001";
const P1 = "6a0000000000000000000011";
const P2 = "6a0000000000000000000012";
const OTHER = "6a0000000000000000000021";

let sim: Simulator | undefined;
let running: InProcessDaemon | undefined;

afterEach(async () => {
  await running?.stop();
  await sim?.close();
  running = undefined;
  sim = undefined;
});

describe("Daemon.watchStatus", () => {
  it("shows each organization, project and cluster with its last listing, and the last reload", async () => {
    sim = await startSim({
      projects: [
        { id: P1, orgId: ORG },
        { id: P2, orgId: ORG },
        { id: OTHER, orgId: "6a0000000000000000000002" },
      ],
      clusters: [
        { groupId: P1, name: "Flex0", kind: "flex" },
        { groupId: P1, name: "Flex1", kind: "flex" },
        { groupId: OTHER, name: "Flex9", kind: "flex" },
      ],
      jobs: [
        {
          groupId: P1,
          clusterName: "Flex0",
          id: id(1),
          script: [{ afterSeconds: 0, status: "RUNNING" }],
        },
      ],
      faults: [{ kind: "server_error", match: { api: "flexClusters", groupId: P2 } }],
    });
    running = await startInProcess(sim, {
      jobs: [],
      watch: [
        { kind: "organization", orgId: ORG },
        { kind: "cluster", groupId: OTHER, clusterName: "Gone" },
      ],
      credentials: SERVICE_ACCOUNT_CREDENTIALS,
      api: "flex",
      now: () => sim!.now(),
    });
    const status = running.daemon.watchStatus();
    expect(status.organizations).toEqual([
      { orgId: ORG, lastSuccessAt: T0, errorKind: undefined, projects: 2 },
    ]);
    expect(status.projects).toEqual([
      {
        groupId: P1,
        source: "organization",
        orgId: ORG,
        lastSuccessAt: T0,
        errorKind: undefined,
        clusters: 2,
      },
      {
        groupId: P2,
        source: "organization",
        orgId: ORG,
        lastSuccessAt: undefined,
        errorKind: "http_500_UNEXPECTED_ERROR",
        clusters: 0,
      },
    ]);
    const cluster = (name: string) => status.clusters.find((c) => c.clusterName === name);
    expect(cluster("Flex0")).toEqual({
      groupId: P1,
      clusterName: "Flex0",
      api: "flex",
      source: "organization",
      lastResult: "ok",
      lastSuccessAt: T0,
      errorKind: undefined,
      jobs: 1,
      pages: 1,
    });
    expect(cluster("Gone")).toMatchObject({
      source: "configuration",
      lastResult: "gone",
      errorKind: "http_404_CLUSTER_NOT_FOUND",
      jobs: 0,
    });
    expect(status.clusters.map((c) => c.clusterName).sort()).toEqual(["Flex0", "Flex1", "Gone"]);
    expect(status.lastReload).toMatchObject({ successful: true, problems: [] });

    // Without a configuration source, a reload is refused and says so.
    const reload = await running.daemon.reload();
    expect(reload).toEqual({ ok: false, problems: ["reload: no configuration source"] });
    expect(running.daemon.watchStatus().lastReload).toMatchObject({
      successful: false,
      problems: ["reload: no configuration source"],
    });
    expect(running.lines.find((l) => l.event === "config_reload_failed")).toMatchObject({
      level: 50,
    });
    expect(await running.metrics()).toContain("atlas_restore_config_last_reload_successful 0");
  });
});
