/**
 * The shipped Prometheus configuration and alert rules against the real daemon: Debian's
 * `prometheus` server scrapes the built daemon, which polls the simulator, and everything is read
 * back through Prometheus's HTTP API. Proves that the scrape job, the metric names and labels the
 * rules expect, and the AtlasRestoreJobFailed alert work together, not only each on its own.
 */
import { readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseDocument } from "yaml";
import { statusesOf } from "../../src/atlas/model.js";
import { parseScenario, startSimulator, type Simulator } from "../../src/simulator/index.js";
import { spawnDaemon, writeConfig, type DaemonProcess } from "../support/daemon-process.js";
import { API_KEY, GROUP, id, waitFor } from "../support/fixtures.js";
import { dashboardQueries, isPending } from "./dashboard.js";
import { startPrometheus, type PrometheusServer, type Sample } from "./prometheus-server.js";
import { ROOT } from "./tools.js";

const FAILED = id(31); // tenant: RUNNING, then FAILED
const RUNNING = id(32); // tenant: RUNNING throughout
const COMPLETED = id(33); // flex: RUNNING, then COMPLETED
const JOB_NAME = "atlas-restore-watch";
const SHIPPED_TARGET = "restore-watch:9917";
/** Scrape and evaluation interval of the temporary copy: 15 s in the shipped file. */
const INTERVAL = "1s";

interface PrometheusConfig {
  global: Record<string, unknown>;
  scrape_configs: { job_name: string; scrape_interval?: string; static_configs: unknown[] }[];
}
interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
}

/** A Prometheus duration (`90s`, `10m`, `1h30m`) in milliseconds. */
function durationMs(text: string | undefined): number {
  if (text === undefined) return 0;
  const units: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 };
  const parts = [...text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)];
  if (parts.map((part) => part[0]).join("") !== text) throw new Error(`duration ${text}`);
  return parts.reduce((sum, part) => sum + Number(part[1]) * (units[part[2] ?? ""] ?? NaN), 0);
}

/** `restore_id → status` of the series with value 1, and their `api` labels. */
function currentStatuses(samples: readonly Sample[]) {
  return Object.fromEntries(
    samples
      .filter((sample) => sample.value[1] === "1")
      .map((sample) => [sample.metric.restore_id, `${sample.metric.api} ${sample.metric.status}`])
      .sort(),
  );
}

/** The shipped rule's `for`: how long after the failure the alert may take to fire. */
const FAILED_FOR_MS = durationMs(
  (
    parse(readFileSync(join(ROOT, "config/prometheus/alerts.yml"), "utf8")) as {
      groups: { rules: AlertRule[] }[];
    }
  ).groups
    .flatMap((group) => group.rules)
    .find((rule) => rule.alert === "AtlasRestoreJobFailed")?.for,
);

let sim: Simulator;
let daemon: DaemonProcess | undefined;
let daemonPort: number;
let prometheus: PrometheusServer | undefined;
let dir: string;
let shipped: { config: string; alerts: string };
let copied: { config: string; alerts: string };

let daemonStopped: Promise<number | string> | undefined;
/** SIGTERM to the daemon, once; resolves with its exit code. */
function stopDaemon(): Promise<number | string> {
  const running = daemon;
  if (!running) return Promise.resolve("never started");
  daemonStopped ??= (async () => {
    const { child } = running;
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    return running.exited;
  })();
  return daemonStopped;
}

/** Waits until `query` returns samples that `accept` takes, polling Prometheus. */
function waitForQuery<T>(
  query: string,
  accept: (samples: Sample[]) => T | undefined,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  return waitFor(async () => accept(await prometheus!.query(query)), what, timeoutMs);
}

const ORG = "6a0000000000000000000001";
const EMPTY_PROJECT = "6a0000000000000000000021";

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "restore-watch-prometheus-"));
  // Simulator time starts at the wall clock, so the jobs are scheduled "now" and the
  // AtlasRestoreJobSlow rule (2 h since scheduled) rightly stays quiet.
  sim = await startSimulator({
    scenario: parseScenario({
      apiKeys: [API_KEY],
      // An organization with one project and no Flex cluster: discovery runs (and its panels
      // have data) without adding a job.
      projects: [{ id: EMPTY_PROJECT, orgId: ORG }],
      clusters: [
        { groupId: GROUP, name: "Cluster0", kind: "tenant" },
        { groupId: GROUP, name: "Flex0", kind: "flex" },
      ],
      jobs: [
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: FAILED,
          script: [
            { afterSeconds: 0, status: "RUNNING" },
            { afterSeconds: 10, status: "FAILED" },
          ],
        },
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: RUNNING,
          script: [{ afterSeconds: 0, status: "RUNNING" }],
        },
        {
          groupId: GROUP,
          clusterName: "Flex0",
          id: COMPLETED,
          script: [
            { afterSeconds: 0, status: "RUNNING" },
            { afterSeconds: 10, status: "COMPLETED" },
          ],
        },
      ],
    }),
    clock: "manual",
    startTime: Date.now(),
  });
  const { file } = await writeConfig(
    {
      schedule: "* * * * * *",
      api: "tenant",
      // Far away, so AtlasRestoreApiSunsetSoon stays quiet and the only alert is the failure.
      tenantSunset: "2099-01-01",
      listen: "127.0.0.1:0",
      baseUrl: sim.url,
      watch: [{ orgId: ORG }],
      jobs: [
        { groupId: GROUP, clusterName: "Cluster0", restoreId: FAILED },
        { groupId: GROUP, clusterName: "Cluster0", restoreId: RUNNING },
        { groupId: GROUP, clusterName: "Flex0", restoreId: COMPLETED, api: "flex" },
      ],
    },
    dir,
  );
  daemon = spawnDaemon(["--config", file], {
    MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
    MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey,
    RESTORE_WATCH_STATE_FILE: join(dir, "state.json"),
  });
  daemonPort = await daemon.port();

  // The shipped files, with only the target and the intervals changed (the rules untouched).
  shipped = {
    config: await readFile(join(ROOT, "config/prometheus/prometheus.yml"), "utf8"),
    alerts: await readFile(join(ROOT, "config/prometheus/alerts.yml"), "utf8"),
  };
  const document = parseDocument(shipped.config);
  const jobs = (document.toJS() as PrometheusConfig).scrape_configs;
  const index = jobs.findIndex((job) => job.job_name === JOB_NAME);
  expect(jobs[index]?.static_configs).toEqual([{ targets: [SHIPPED_TARGET] }]);
  document.setIn(
    ["scrape_configs", index, "static_configs", 0, "targets", 0],
    `127.0.0.1:${daemonPort}`,
  );
  document.setIn(["global", "scrape_interval"], INTERVAL);
  document.setIn(["global", "evaluation_interval"], INTERVAL);
  if (document.hasIn(["scrape_configs", index, "scrape_interval"])) {
    document.setIn(["scrape_configs", index, "scrape_interval"], INTERVAL);
  }
  const promDir = join(dir, "prometheus");
  await mkdir(promDir);
  await writeFile(join(promDir, "prometheus.yml"), document.toString());
  await copyFile(join(ROOT, "config/prometheus/alerts.yml"), join(promDir, "alerts.yml"));
  copied = {
    config: await readFile(join(promDir, "prometheus.yml"), "utf8"),
    alerts: await readFile(join(promDir, "alerts.yml"), "utf8"),
  };
  prometheus = await startPrometheus({
    configFile: join(promDir, "prometheus.yml"),
    storageDir: join(dir, "tsdb"),
  });
});

afterAll(async () => {
  // Everything is stopped whatever failed; the daemon's exit code is checked last.
  const prometheusExit = await prometheus?.stop();
  const daemonExit = await stopDaemon();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
  if (prometheus) expect(prometheusExit, prometheus.log()).toBe(0);
  if (daemon) expect(daemonExit, daemon.stderr()).toBe(0);
});

describe("the missing binary", () => {
  it("fails with the Debian package to install, never skips", async () => {
    await expect(
      startPrometheus({
        configFile: "/nonexistent/prometheus.yml",
        storageDir: "/nonexistent/tsdb",
        command: "atlas-restore-watch-no-such-prometheus",
      }),
    ).rejects.toThrow(
      "atlas-restore-watch-no-such-prometheus is not installed: install Debian's prometheus " +
        "package (apt-get install prometheus); these tests need the real tool and do not skip",
    );
  });
});

describe("Prometheus with the shipped configuration", () => {
  it("runs a copy that differs from the shipped files in the target and the intervals only", () => {
    const original = parse(shipped.config) as PrometheusConfig;
    const copy = parse(copied.config) as PrometheusConfig;
    const job = copy.scrape_configs.find((j) => j.job_name === JOB_NAME)!;
    expect(job.static_configs).toEqual([{ targets: [`127.0.0.1:${daemonPort}`] }]);
    expect(copy.global).toMatchObject({ scrape_interval: "1s", evaluation_interval: "1s" });
    // Put the shipped values back: what remains must be the shipped file.
    job.static_configs = [{ targets: [SHIPPED_TARGET] }];
    const shippedJob = original.scrape_configs.find((j) => j.job_name === JOB_NAME)!;
    if (shippedJob.scrape_interval !== undefined) job.scrape_interval = shippedJob.scrape_interval;
    copy.global.scrape_interval = original.global.scrape_interval;
    copy.global.evaluation_interval = original.global.evaluation_interval;
    expect(copy).toEqual(original);
    expect(copied.alerts).toBe(shipped.alerts);
  });

  it("loads the nine rules of alerts.yml and evaluates them without errors", async () => {
    const groups = await prometheus!.ruleGroups();
    expect(groups.map((group) => [group.name, group.interval])).toEqual([[JOB_NAME, 1]]);
    await prometheus!.evaluatedAfter(Date.now());
    const rules = (await prometheus!.ruleGroups())[0]?.rules ?? [];
    expect(rules.map((rule) => [rule.name, rule.type, rule.health, rule.lastError ?? ""])).toEqual(
      [
        "AtlasRestoreJobFailed",
        "AtlasRestoreJobCancelled",
        "AtlasRestoreDedicatedForbidden",
        "AtlasRestoreJobSlow",
        "AtlasRestoreApiDown",
        "AtlasRestoreApiErrors",
        "AtlasRestoreJobPollFailing",
        "AtlasRestoreApiSunsetSoon",
        "AtlasRestoreWatchDown",
      ].map((name) => [name, "alerting", "ok", ""]),
    );
  });

  it("scrapes the daemon: up == 1", async () => {
    const up = await waitForQuery(
      `up{job="${JOB_NAME}"} == 1`,
      (samples) => (samples.length > 0 ? samples : undefined),
      "a successful scrape",
    );
    expect(up.map((sample) => [sample.metric, sample.value[1]])).toEqual([
      [{ __name__: "up", job: JOB_NAME, instance: `127.0.0.1:${daemonPort}` }, "1"],
    ]);
    expect((await prometheus!.query("atlas_restore_api_up")).map((s) => s.value[1])).toEqual(["1"]);
  });

  it("stores every job as RUNNING and raises no alert while nothing failed", async () => {
    const statuses = await waitForQuery(
      "atlas_restore_job_status",
      (samples) => {
        const current = currentStatuses(samples);
        return Object.keys(current).length === 3 ? current : undefined;
      },
      "three jobs in Prometheus",
    );
    expect(statuses).toEqual({
      [FAILED]: "tenant RUNNING",
      [RUNNING]: "tenant RUNNING",
      [COMPLETED]: "flex RUNNING",
    });
    // Two evaluations after the sample was stored: any alert on it would be active by now.
    await prometheus!.evaluatedAfter(Date.now());
    await prometheus!.evaluatedAfter(Date.now());
    expect(await prometheus!.alerts()).toEqual([]);
    const failedRuleState = (await prometheus!.ruleGroups())[0]?.rules.find(
      (rule) => rule.name === "AtlasRestoreJobFailed",
    );
    expect(failedRuleState?.state).toBe("inactive");
  });

  it("stores the statuses as a state set once one job failed and one completed", async () => {
    sim.advance(10);
    const samples = await waitForQuery(
      "atlas_restore_job_status",
      (all) => (currentStatuses(all)[FAILED] === "tenant FAILED" ? all : undefined),
      "the FAILED status in Prometheus",
    );
    expect(currentStatuses(samples)).toEqual({
      [FAILED]: "tenant FAILED",
      [RUNNING]: "tenant RUNNING",
      [COMPLETED]: "flex COMPLETED",
    });
    // One series per possible status and job, all from the one target.
    expect(samples).toHaveLength(3 * statusesOf("flex").length);
    for (const restoreId of [FAILED, RUNNING, COMPLETED]) {
      const own = samples.filter((sample) => sample.metric.restore_id === restoreId);
      expect(own.map((sample) => sample.metric.status).sort()).toEqual(
        [...statusesOf("flex")].sort(),
      );
      expect(own.reduce((sum, sample) => sum + Number(sample.value[1]), 0)).toBe(1);
      expect(new Set(own.map((sample) => sample.metric.instance))).toEqual(
        new Set([`127.0.0.1:${daemonPort}`]),
      );
    }
  });

  it(
    "fires AtlasRestoreJobFailed for the failed job only, with its labels",
    async () => {
      const alerts = await waitFor(
        async () => {
          const active = await prometheus!.alerts();
          return active.some((alert) => alert.state === "firing") ? active : undefined;
        },
        "AtlasRestoreJobFailed to fire",
        FAILED_FOR_MS + 10_000,
      );
      const instance = `127.0.0.1:${daemonPort}`;
      expect(alerts.map((alert) => [alert.state, alert.labels, alert.value])).toEqual([
        [
          "firing",
          {
            alertname: "AtlasRestoreJobFailed",
            severity: "critical",
            group_id: GROUP,
            cluster_name: "Cluster0",
            restore_id: FAILED,
            api: "tenant",
            status: "FAILED",
            instance,
            job: JOB_NAME,
          },
          "1e+00",
        ],
      ]);
      expect(alerts[0]?.annotations.summary).toBe(`Atlas restore ${FAILED} of Cluster0 failed`);
      expect(alerts[0]?.annotations.description).toContain(
        `Restore job ${FAILED} of cluster Cluster0 in project ${GROUP} (tenant API) is FAILED`,
      );
      const series = await prometheus!.query('ALERTS{alertname="AtlasRestoreJobFailed"}');
      expect(series.map((sample) => [sample.metric.alertstate, sample.metric.restore_id])).toEqual([
        ["firing", FAILED],
      ]);
    },
    FAILED_FOR_MS + 20_000,
  );

  it("answers every query of the Grafana dashboard with data", async () => {
    // Queries on metrics the daemon does not export yet (PENDING_METRICS) are left out.
    const queries = dashboardQueries().filter((query) => !isPending(query));
    expect(queries.length).toBe(26);
    const empty: string[] = [];
    for (const query of queries) {
      const samples = await waitForQuery(
        query.promql,
        (found) => (found.length > 0 ? found : undefined),
        `data for "${query.panel}" ${query.refId}: ${query.promql}`,
      ).catch(() => []);
      if (samples.length === 0) empty.push(`${query.panel} ${query.refId}: ${query.promql}`);
    }
    expect(empty).toEqual([]);
  }, 120_000);

  it("leaves a daemon that logged JSON only and exits 0 on SIGTERM", async () => {
    expect(await stopDaemon()).toBe(0);
    expect(daemon?.garbage).toEqual([]);
    expect(daemon?.stderr()).toBe("");
    const failed = daemon?.lines.find((line) => line.to === "FAILED");
    expect(failed).toMatchObject({ event: "restore_transition", restoreId: FAILED, level: 50 });
  });
});
