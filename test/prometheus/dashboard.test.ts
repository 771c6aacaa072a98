/**
 * The Grafana dashboard without Grafana: its structure (a data-source variable, every panel on
 * it), every query valid PromQL for promtool, and every metric it names exported by the daemon.
 * prometheus-e2e.test.ts runs each query against a real Prometheus.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { Simulator } from "../../src/simulator/index.js";
import { API_KEY_CREDENTIALS, GROUP, id, startSim } from "../support/fixtures.js";
import { startInProcess, type InProcessDaemon } from "../support/in-process.js";
import {
  PENDING_METRICS,
  dashboardQueries,
  exposedFamilies,
  readDashboard,
  type DashboardQuery,
} from "./dashboard.js";
import { PROMTOOL, run } from "./tools.js";

/** Families on /metrics that no panel shows, each for a reason. */
const NOT_ON_THE_DASHBOARD = [
  // A job's own moment of change: the status page lists the last transitions.
  "atlas_restore_job_last_transition_timestamp_seconds",
];

const dashboard = readDashboard();
const queries = dashboardQueries(dashboard);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "restore-watch-dashboard-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes the queries as recording rules, the form promtool checks PromQL in. */
async function rulesFile(name: string, list: readonly Pick<DashboardQuery, "promql">[]) {
  const file = join(dir, name);
  const rules = list.map((query, index) => ({
    record: `dashboard:query_${index}`,
    expr: query.promql,
  }));
  await writeFile(file, stringify({ groups: [{ name: "dashboard", rules }] }));
  return file;
}

describe("config/grafana/atlas-restore-watch.json", () => {
  it("is importable by hand: no id, a fixed uid, a Prometheus data-source variable", () => {
    expect(dashboard.id).toBeNull();
    expect(dashboard.uid).toBe("atlas-restore-watch");
    expect(dashboard.templating.list).toMatchObject([
      { name: "datasource", type: "datasource", query: "prometheus" },
    ]);
  });

  it("reads every panel and query through the data-source variable", () => {
    const panels = dashboard.panels.filter((panel) => panel.type !== "row");
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: "${datasource}" });
      expect(panel.description, panel.title).toMatch(/\S/);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.datasource, `${panel.title} ${target.refId}`).toEqual(panel.datasource);
      }
      expect(panel.gridPos.x + panel.gridPos.w, panel.title).toBeLessThanOrEqual(24);
    }
    expect(new Set(dashboard.panels.map((panel) => panel.id)).size).toBe(dashboard.panels.length);
  });

  it("has the panels operators look for, row by row", () => {
    expect(
      dashboard.panels.map((panel) => (panel.type === "row" ? `# ${panel.title}` : panel.title)),
    ).toEqual([
      "# Restore jobs",
      "Jobs by status",
      "Atlas reachable",
      "Version",
      "Failed restores",
      "Jobs by status over time",
      "Transitions",
      "Restore durations",
      "Unfinished jobs by age",
      "# Atlas API",
      "Jobs whose last poll failed",
      "Oldest successful poll of an unfinished job",
      "API requests by code and family",
      "API request duration",
      "Rate-limit headroom",
      "Days to an API's sunset",
      "# Daemon",
      "Poll cycle duration",
      "Skipped and deferred polls",
      "Memory",
      "# Discovery and configuration",
      "Watched clusters",
      "Since the last successful discovery",
      "Discovery errors",
      "Last configuration reload",
    ]);
  });

  it("has only queries that promtool accepts as PromQL", async () => {
    const result = await run(PROMTOOL, [
      "check",
      "rules",
      await rulesFile("dashboard.yml", queries),
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
  });

  it("would be caught with a broken query", async () => {
    const broken = [...queries, { promql: "sum by (api (atlas_restore_api_up)" }];
    const result = await run(PROMTOOL, ["check", "rules", await rulesFile("broken.yml", broken)]);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/parse error/);
  });
});

describe("the dashboard's metrics on a running daemon's /metrics", () => {
  let sim: Simulator;
  let daemon: InProcessDaemon;
  let families: Set<string>;

  beforeAll(async () => {
    sim = await startSim({
      jobs: [
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: id(61),
          script: [{ afterSeconds: 0, status: "RUNNING" }],
        },
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: id(62),
          script: [{ afterSeconds: 0, status: "COMPLETED" }],
        },
      ],
    });
    daemon = await startInProcess(sim, {
      credentials: API_KEY_CREDENTIALS,
      jobs: [
        { groupId: GROUP, clusterName: "Cluster0", restoreId: id(61) },
        { groupId: GROUP, clusterName: "Cluster0", restoreId: id(62) },
      ],
    });
    families = exposedFamilies(await daemon.metrics());
  });
  afterAll(async () => {
    await daemon?.stop();
    await sim?.close();
  });

  it("exports every metric a panel reads, except those still pending", () => {
    const named = [...new Set(queries.flatMap((query) => query.metrics))].sort();
    const missing = named.filter((name) => !families.has(name) && !PENDING_METRICS.includes(name));
    expect(missing).toEqual([]);
    // Every pending name is on the dashboard, and none is exported yet.
    expect(PENDING_METRICS.filter((name) => !named.includes(name))).toEqual([]);
    const arrived = PENDING_METRICS.filter((name) => families.has(name));
    expect(arrived, "now exported: remove them from PENDING_METRICS in dashboard.ts").toEqual([]);
  });

  it("shows every atlas_restore_ family the daemon exports", () => {
    const named = new Set(queries.flatMap((query) => query.metrics));
    const unshown = [...families].filter(
      (name) =>
        name.startsWith("atlas_restore_") &&
        !named.has(name) &&
        !NOT_ON_THE_DASHBOARD.includes(name),
    );
    expect(unshown).toEqual([]);
  });
});
