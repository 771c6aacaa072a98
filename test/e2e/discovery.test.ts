/**
 * Watching an organization, end to end: the built daemon as a child process against the
 * simulator. First sightings of what is current and nothing of old history; a new job, cluster
 * and project appearing by themselves; one LIST per cluster and cycle, whatever its history; a
 * hanging LIST that delays no other cluster; SIGHUP and `/-/reload` changing what is watched with
 * no line repeated or missed; a bad reload that keeps the running configuration; a restart that
 * repeats nothing.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  parseScenario,
  startSimulator,
  type ScenarioInput,
  type Simulator,
} from "../../src/simulator/index.js";
import { spawnDaemon, type DaemonProcess, type LogLine } from "../support/daemon-process.js";
import { API_KEY, SERVICE_ACCOUNT, id, waitFor } from "../support/fixtures.js";

const ORG = "6a0000000000000000000001";
const P1 = "6a0000000000000000000011";
const P2 = "6a0000000000000000000012";
const P3 = "6a0000000000000000000013";
const DAY = 86_400;

const J1 = id(1); // F1, RUNNING, completes at 200
const J2 = id(2); // F1, finished 90 days ago: never logged
const J3 = id(3); // F1, PENDING, RUNNING at 20
const J7 = id(7); // F1, created at 30, RUNNING at 300
const J4 = id(4); // F2, RUNNING, completes at 300 (while F2 is not watched)
const J8 = id(8); // F2, finished an hour before t=0: logged, within the retention
const JB = id(0xb); // Big, RUNNING, among 1,200 old finished jobs
const J5 = id(5); // F3 (created at 50), QUEUED
const J6 = id(6); // F4 of P3 (both created at 100), RUNNING, completes at 400
const OLD = Array.from({ length: 1_200 }, (_, i) => id(0x1000 + i));

const flex = (groupId: string, name: string, createdAfterSeconds = 0) => ({
  groupId,
  name,
  kind: "flex" as const,
  createdAfterSeconds,
});
const job = (
  groupId: string,
  clusterName: string,
  jobId: string,
  script: [number, string][],
  createdAfterSeconds = script[0]?.[0] ?? 0,
) => ({
  groupId,
  clusterName,
  id: jobId,
  createdAfterSeconds,
  script: script.map(([afterSeconds, status]) => ({ afterSeconds, status })),
});

const scenario: ScenarioInput = {
  apiKeys: [API_KEY],
  serviceAccounts: [SERVICE_ACCOUNT],
  projects: [
    { id: P1, orgId: ORG, name: "Payments" },
    { id: P2, orgId: ORG, name: "Archive" },
    { id: P3, orgId: ORG, name: "Later", createdAfterSeconds: 100 },
  ],
  clusters: [
    flex(P1, "F1"),
    flex(P1, "F2"),
    flex(P2, "Big"),
    flex(P2, "F3", 50),
    flex(P3, "F4", 100),
  ],
  jobs: [
    job(P1, "F1", J1, [
      [0, "RUNNING"],
      [200, "COMPLETED"],
    ]),
    job(P1, "F1", J2, [
      [-90 * DAY, "RUNNING"],
      [-90 * DAY + 60, "COMPLETED"],
    ]),
    job(P1, "F1", J3, [
      [0, "PENDING"],
      [20, "RUNNING"],
    ]),
    job(P1, "F1", J7, [
      [30, "PENDING"],
      [300, "RUNNING"],
    ]),
    job(P1, "F2", J4, [
      [0, "RUNNING"],
      [300, "COMPLETED"],
    ]),
    job(P1, "F2", J8, [
      [-7_200, "RUNNING"],
      [-3_600, "COMPLETED"],
    ]),
    ...OLD.map((jobId, i) =>
      job(P2, "Big", jobId, [
        [-200 * DAY + i * 600, "RUNNING"],
        [-200 * DAY + i * 600 + 60, i % 10 === 0 ? "FAILED" : "COMPLETED"],
      ]),
    ),
    job(P2, "Big", JB, [[0, "RUNNING"]]),
    job(P2, "F3", J5, [[50, "QUEUED"]]),
    job(P3, "F4", J6, [
      [100, "RUNNING"],
      [400, "COMPLETED"],
    ]),
  ],
};

const BASE_CONFIG = {
  schedule: "* * * * * *",
  listen: "127.0.0.1:0",
  discoveryInterval: "1s",
  enableLifecycle: true,
  concurrency: 8,
  timeouts: { connect: "2s", headers: "8s", body: "8s" },
};
const ORG_WATCH = [{ orgId: ORG }];

let sim: Simulator;
let dir: string;
let configFile: string;
const runs: DaemonProcess[] = [];
let daemon: DaemonProcess;
let port: number;

async function writeConfig(extra: Record<string, unknown>): Promise<void> {
  await writeFile(configFile, stringify({ ...BASE_CONFIG, baseUrl: sim.url, ...extra }));
}

function start(): DaemonProcess {
  const run = spawnDaemon(["--config", configFile], {
    MONGODB_ATLAS_CLIENT_ID: SERVICE_ACCOUNT.clientId,
    MONGODB_ATLAS_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret,
    RESTORE_WATCH_STATE_FILE: join(dir, "state.json"),
  });
  runs.push(run);
  return run;
}

beforeAll(async () => {
  // t=0 is now, so that "finished an hour ago" and "90 days ago" mean that to the daemon.
  sim = await startSimulator({
    scenario: parseScenario(scenario),
    clock: "manual",
    startTime: Date.now(),
  });
  dir = await mkdtemp(join(tmpdir(), "restore-watch-discovery-"));
  configFile = join(dir, "restore-watch.yaml");
  await writeConfig({ watch: ORG_WATCH });
});

afterAll(async () => {
  for (const run of runs) run.child.kill("SIGKILL");
  await Promise.all(runs.map((run) => run.exited));
  await sim.close();
});

const transitions = (lines: readonly LogLine[]) =>
  lines.filter((l) => l.event === "restore_transition");
const short = (l: LogLine) => `${String(l.restoreId).slice(-4)} ${String(l.from)}→${String(l.to)}`;
const isTransition = (restoreId: string, to: string) => (l: LogLine) =>
  l.event === "restore_transition" && l.restoreId === restoreId && l.to === to;

async function get(path: string) {
  const res = await request(`http://127.0.0.1:${port}${path}`);
  return { status: res.statusCode, body: await res.body.text() };
}

async function post(path: string) {
  const res = await request(`http://127.0.0.1:${port}${path}`, { method: "POST" });
  return { status: res.statusCode, body: await res.body.text() };
}

/** The value of a series, which must be present. */
async function metric(series: string): Promise<number> {
  const { body } = await get("/metrics");
  const line = body.split("\n").find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no series ${series}`);
  return Number(line.slice(series.length + 1));
}

/** Waits until `count` more poll cycles have finished. */
async function cycles(count: number): Promise<void> {
  const series = "atlas_restore_poll_cycle_duration_seconds_count";
  const target = (await metric(series)) + count;
  await waitFor(
    async () => ((await metric(series)) >= target ? true : undefined),
    `${count} cycles`,
    20_000,
  );
}

/** Requests the simulator received and has not answered yet. */
function hanging(): number {
  const stats = sim.stats();
  return stats.requests - Object.values(stats.byStatus).reduce((a, b) => a + b, 0);
}

describe("watching an organization", () => {
  it("logs a first sighting of every current job, and nothing for history", async () => {
    daemon = start();
    port = await daemon.port();
    await waitFor(
      async () => ((await get("/readyz")).status === 200 ? true : undefined),
      "ready",
      20_000,
    );
    expect(transitions(daemon.lines).map(short).sort()).toEqual(
      [
        `${J1.slice(-4)} null→RUNNING`,
        `${J3.slice(-4)} null→PENDING`,
        `${J4.slice(-4)} null→RUNNING`,
        `${J8.slice(-4)} null→COMPLETED`,
        `${JB.slice(-4)} null→RUNNING`,
      ].sort(),
    );
    const first = daemon.lines.find(isTransition(J1, "RUNNING"));
    expect(first).toMatchObject({
      level: 30,
      msg: "restore job status changed",
      groupId: P1,
      clusterName: "F1",
      restoreId: J1,
      api: "flex",
      from: null,
      to: "RUNNING",
    });
    const watched = daemon.lines
      .filter((l) => l.event === "cluster_watch_started")
      .map((l) => `${String(l.groupId).slice(-2)}/${String(l.clusterName)} ${String(l.source)}`);
    expect(watched.sort()).toEqual([
      "11/F1 organization",
      "11/F2 organization",
      "12/Big organization",
    ]);
    expect(await metric('atlas_restore_watched_clusters{api="flex"}')).toBe(3);
    expect(await metric('atlas_restore_discovery_errors_total{scope="organization"}')).toBe(0);
    const listedAt = await metric(
      'atlas_restore_discovery_last_success_timestamp_seconds{scope="project"}',
    );
    expect(Math.abs(listedAt - Date.now() / 1000)).toBeLessThan(60);
    const { body } = await get("/metrics");
    expect(body).toContain(`restore_id="${J8}"`);
    expect(body).not.toContain(`restore_id="${J2}"`);
    expect(body).not.toContain(`restore_id="${OLD[0]}"`);
    // The big cluster's first listing read every page: 500 + 500 + 201 jobs.
    expect(sim.stats().listsByCluster[`${P2}/Big`]).toBeGreaterThanOrEqual(3);
  });

  it("sees a new job within a cycle, a new cluster and a new project within the discovery interval", async () => {
    let mark = daemon.lines.length;
    sim.advance(30);
    let since = Date.now();
    await daemon.waitForLine(isTransition(J7, "PENDING"), "the new job", mark);
    expect(Date.now() - since).toBeLessThan(5_000);
    await daemon.waitForLine(isTransition(J3, "RUNNING"), "a change", mark);

    mark = daemon.lines.length;
    sim.advance(20); // t=50: F3 appears in P2
    since = Date.now();
    await daemon.waitForLine(isTransition(J5, "QUEUED"), "the new cluster's job", mark);
    expect(Date.now() - since).toBeLessThan(6_000);
    expect(daemon.lines.slice(mark).find((l) => l.event === "cluster_watch_started")).toMatchObject(
      { level: 30, groupId: P2, clusterName: "F3", api: "flex", source: "organization" },
    );

    mark = daemon.lines.length;
    sim.advance(50); // t=100: P3 and its F4 appear
    since = Date.now();
    await daemon.waitForLine(isTransition(J6, "RUNNING"), "the new project's job", mark);
    expect(Date.now() - since).toBeLessThan(6_000);
    expect(await metric('atlas_restore_watched_clusters{api="flex"}')).toBe(5);
  });

  it("costs one LIST per watched cluster and cycle, no GET, however long a cluster's history", async () => {
    await cycles(1);
    sim.resetStats();
    await cycles(4);
    const stats = sim.stats();
    expect(stats.byRoute["flex.get"]).toBeUndefined();
    const lists = stats.listsByCluster;
    const perCluster = [`${P1}/F1`, `${P1}/F2`, `${P2}/Big`, `${P2}/F3`, `${P3}/F4`].map(
      (key) => lists[key] ?? 0,
    );
    // 4 to 6 cycles' worth, depending on the cycles in flight at either end; and the cluster
    // with 1,201 jobs costs what the others cost: one request a cycle.
    for (const n of perCluster) expect(n).toBeGreaterThanOrEqual(3);
    for (const n of perCluster) expect(n).toBeLessThanOrEqual(6);
    expect(lists[`${P2}/Big`]).toBeLessThanOrEqual((lists[`${P1}/F1`] ?? 0) + 1);
  });

  it("goes on with every other cluster while one LIST hangs", async () => {
    sim.addFault({
      kind: "slow_headers",
      times: 1,
      match: { api: "flex", clusterName: "F2", list: true },
    });
    await waitFor(() => (hanging() > 0 ? true : undefined), "a hanging LIST");
    const mark = daemon.lines.length;
    sim.advance(100); // t=200: J1 on F1 completes
    const since = Date.now();
    await daemon.waitForLine(isTransition(J1, "COMPLETED"), "another cluster's change", mark);
    expect(Date.now() - since).toBeLessThan(4_000);
    // The hung LIST times out (8 s), is reported once, and the next one works again.
    const error = await daemon.waitForLine(
      (l) => l.event === "cluster_list_error",
      "the timeout",
      mark,
    );
    expect(error).toMatchObject({
      level: 40,
      groupId: P1,
      clusterName: "F2",
      errorKind: "timeout_headers",
    });
    await daemon.waitForLine((l) => l.event === "cluster_list_recovered", "the recovery", mark);
    expect(await metric('atlas_restore_polls_skipped_total{target="cluster"}')).toBeGreaterThan(0);
  });

  it("changes what is watched on SIGHUP and /-/reload, with no line repeated or missed", async () => {
    await writeConfig({ watch: [{ groupId: P1, clusterName: "F1" }] });
    let mark = daemon.lines.length;
    daemon.child.kill("SIGHUP");
    const reloaded = await daemon.waitForLine((l) => l.event === "config_reloaded", "reload", mark);
    expect(reloaded).toMatchObject({ level: 30, watch: 1, jobs: 0, restartRequired: [] });
    await waitFor(
      () =>
        daemon.lines.slice(mark).filter((l) => l.event === "cluster_watch_stopped").length >= 4
          ? true
          : undefined,
      "four clusters no longer watched",
    );
    expect(await metric('atlas_restore_watched_clusters{api="flex"}')).toBe(1);

    mark = daemon.lines.length;
    sim.advance(100); // t=300: J7 (F1, watched) runs; J4 (F2, not watched) completes
    await daemon.waitForLine(isTransition(J7, "RUNNING"), "the watched cluster's change", mark);
    await cycles(2);
    expect(daemon.lines.slice(mark).some(isTransition(J4, "COMPLETED"))).toBe(false);
    // Jobs of clusters no longer watched export no series.
    expect((await get("/metrics")).body).not.toContain(`restore_id="${J4}"`);

    await writeConfig({ watch: ORG_WATCH });
    mark = daemon.lines.length;
    const answer = await post("/-/reload");
    expect(answer).toEqual({ status: 200, body: "configuration reloaded\n" });
    const caughtUp = await daemon.waitForLine(
      isTransition(J4, "COMPLETED"),
      "the missed change",
      mark,
    );
    expect(caughtUp).toMatchObject({ from: "RUNNING", to: "COMPLETED" });
    await cycles(2);
    expect(transitions(daemon.lines.slice(mark)).map(short)).toEqual([
      `${J4.slice(-4)} RUNNING→COMPLETED`,
    ]);
    expect(await metric("atlas_restore_config_last_reload_successful")).toBe(1);
  });

  it("keeps polling with the running configuration after a bad reload", async () => {
    await writeConfig({ watch: [{ orgId: "nothex" }] });
    let mark = daemon.lines.length;
    daemon.child.kill("SIGHUP");
    const failed = await daemon.waitForLine(
      (l) => l.event === "config_reload_failed",
      "the failed reload",
      mark,
    );
    const problem = 'watch[0].orgId: "nothex" is not a 24-character lowercase hexadecimal id';
    expect(failed).toMatchObject({ level: 50, problems: [problem] });
    expect(await post("/-/reload")).toEqual({
      status: 400,
      body: `configuration not reloaded:\n${problem}\n`,
    });
    expect(await metric("atlas_restore_config_last_reload_successful")).toBe(0);

    mark = daemon.lines.length;
    sim.advance(100); // t=400: J6 on F4 (found through the organization) completes
    await daemon.waitForLine(isTransition(J6, "COMPLETED"), "a change under the old config", mark);
    await writeConfig({ watch: ORG_WATCH });
  });

  it("repeats nothing after a restart", async () => {
    daemon.child.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    const all = transitions(runs.flatMap((run) => run.lines)).map(
      (l) => `${String(l.restoreId)} ${String(l.to)}`,
    );
    expect(new Set(all).size).toBe(all.length);

    daemon = start();
    port = await daemon.port();
    await waitFor(
      async () => ((await get("/readyz")).status === 200 ? true : undefined),
      "ready",
      20_000,
    );
    await cycles(3);
    expect(transitions(daemon.lines)).toEqual([]);
    expect(daemon.lines.filter((l) => l.event === "cluster_watch_started")).toHaveLength(5);
    daemon.child.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    expect(daemon.stderr()).toBe("");
    expect(daemon.garbage).toEqual([]);
  });
});
