/**
 * Dedicated clusters' restore jobs end to end: the built daemon and `wait` as child processes
 * against the simulator. Configured dedicated jobs go RUNNING → COMPLETED (finishedAt), FAILED
 * (level 50), CANCELLED (level 40) and, for a download, COMPLETED once its URL is ready; finished
 * jobs are not polled again; a 403 on one dedicated cluster is reported once, naming the role,
 * and leaves the Flex job of the same project tracked as before.
 */
import { join } from "node:path";
import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ScenarioInput, Simulator } from "../../src/simulator/index.js";
import {
  spawnDaemon,
  writeConfig,
  type DaemonProcess,
  type LogLine,
} from "../support/daemon-process.js";
import { API_KEY, GROUP, T0, id, startSim, waitFor } from "../support/fixtures.js";

/** A dedicated job's id: its first four bytes are its creation time, the scenario's t=0. */
function dedicatedId(n: number): string {
  return `${Math.floor(T0 / 1000).toString(16)}d2c4a03c${n.toString(16).padStart(8, "0")}`;
}

const DONE = dedicatedId(1); // automated: RUNNING, COMPLETED (finishedAt) at 240 s
const BROKEN = dedicatedId(2); // automated: RUNNING, failed at 240 s
const DROPPED = dedicatedId(3); // download: RUNNING, cancelled at 240 s
const FILES = dedicatedId(4); // download: RUNNING, deliveryUrl at 240 s, never finishedAt
const REFUSED = dedicatedId(5); // on Denied0, which answers 403 until the fault is cleared
const FLEX = id(6); // Flex0: PENDING, RUNNING at 10 s, COMPLETED at 240 s

const running = (last: string) => [
  { afterSeconds: 0, status: "RUNNING" },
  { afterSeconds: 240, status: last },
];

const SCENARIO: ScenarioInput = {
  clusters: [
    { groupId: GROUP, name: "Prod0", kind: "dedicated" },
    { groupId: GROUP, name: "Denied0", kind: "dedicated" },
    { groupId: GROUP, name: "Flex0", kind: "flex" },
  ],
  jobs: [
    { groupId: GROUP, clusterName: "Prod0", id: DONE, script: running("COMPLETED") },
    { groupId: GROUP, clusterName: "Prod0", id: BROKEN, script: running("FAILED") },
    {
      groupId: GROUP,
      clusterName: "Prod0",
      id: DROPPED,
      deliveryType: "download",
      script: running("CANCELLED"),
    },
    {
      groupId: GROUP,
      clusterName: "Prod0",
      id: FILES,
      deliveryType: "download",
      script: running("COMPLETED"),
    },
    { groupId: GROUP, clusterName: "Denied0", id: REFUSED, script: running("COMPLETED") },
    {
      groupId: GROUP,
      clusterName: "Flex0",
      id: FLEX,
      script: [
        { afterSeconds: 0, status: "PENDING" },
        { afterSeconds: 10, status: "RUNNING" },
        { afterSeconds: 240, status: "COMPLETED" },
      ],
    },
  ],
  faults: [{ kind: "forbidden", match: { api: "dedicated", clusterName: "Denied0" } }],
};

const ENV = {
  MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
  MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey,
};

const NAMES: Record<string, string> = {
  [DONE]: "done",
  [BROKEN]: "broken",
  [DROPPED]: "dropped",
  [FILES]: "files",
  [REFUSED]: "refused",
  [FLEX]: "flex",
};

const transitions = (lines: readonly LogLine[]) =>
  lines
    .filter((l) => l.event === "restore_transition")
    .map((l) => `${l.level} ${l.api} ${NAMES[String(l.restoreId)]} ${l.from}→${l.to}`)
    .sort();

async function transitionsAfter(daemon: DaemonProcess, from: number, count: number) {
  return waitFor(
    () => {
      const got = transitions(daemon.lines.slice(from));
      return got.length >= count ? got : undefined;
    },
    `${count} transitions; stderr: ${daemon.stderr()}`,
    20_000,
  );
}

async function metrics(port: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}/metrics`);
  return res.body.text();
}

async function cycles(port: number): Promise<number> {
  return Number(
    /atlas_restore_poll_cycle_duration_seconds_count (\d+)/.exec(await metrics(port))?.[1],
  );
}

/** Waits until the daemon has finished `more` cycles after the current one. */
async function moreCycles(port: number, more: number): Promise<void> {
  const target = (await cycles(port)) + more;
  await waitFor(
    async () => ((await cycles(port)) >= target ? true : undefined),
    `${more} cycles`,
    20_000,
  );
}

describe("the daemon watches configured dedicated jobs", () => {
  let sim: Simulator;
  let daemon: DaemonProcess;
  let port: number;

  beforeAll(async () => {
    sim = await startSim(SCENARIO);
    const { dir, file } = await writeConfig({
      schedule: "* * * * * *",
      listen: "127.0.0.1:0",
      baseUrl: sim.url,
      jobs: [
        ...[DONE, BROKEN, DROPPED, FILES].map((restoreId) => ({
          groupId: GROUP,
          clusterName: "Prod0",
          restoreId,
          api: "dedicated",
        })),
        { groupId: GROUP, clusterName: "Denied0", restoreId: REFUSED, api: "dedicated" },
        { groupId: GROUP, clusterName: "Flex0", restoreId: FLEX, api: "flex" },
      ],
    });
    daemon = spawnDaemon(["--config", file], {
      ...ENV,
      RESTORE_WATCH_STATE_FILE: join(dir, "state.json"),
    });
    port = await daemon.port();
  });

  afterAll(async () => {
    if (daemon.child.exitCode === null) {
      daemon.child.kill("SIGTERM");
      await daemon.exited;
    }
    await sim.close();
  });

  it("sees every job RUNNING with its raw flags, dated by its id", async () => {
    expect(await transitionsAfter(daemon, 0, 5)).toEqual([
      "30 dedicated broken null→RUNNING",
      "30 dedicated done null→RUNNING",
      "30 dedicated dropped null→RUNNING",
      "30 dedicated files null→RUNNING",
      "30 flex flex null→PENDING",
    ]);
    const line = daemon.lines.find((l) => l.event === "restore_transition" && l.restoreId === DONE);
    expect(line).toMatchObject({
      level: 30,
      api: "dedicated",
      clusterName: "Prod0",
      to: "RUNNING",
      deliveryType: "automated",
      targetDeploymentItemName: "Prod0-restore",
      restoreScheduledDate: "2025-06-01T12:00:00Z",
      flags: {
        failed: false,
        cancelled: false,
        expired: false,
        finished: false,
        deliveryUrls: 0,
        componentUrls: 0,
      },
    });
  });

  it("reports a 403 on one dedicated cluster once, naming the role, and Flex goes on", async () => {
    const denied = await daemon.waitForLine(
      (l) => l.event === "restore_access_denied",
      "restore_access_denied",
    );
    expect(denied).toMatchObject({
      level: 40,
      groupId: GROUP,
      clusterName: "Denied0",
      api: "dedicated",
      status: 403,
      errorCode: "IP_ADDRESS_NOT_ON_ACCESS_LIST",
      requiredRole: "Project Backup Manager",
    });
    const mark = daemon.lines.length;
    sim.advance(10);
    expect(await transitionsAfter(daemon, mark, 1)).toEqual(["30 flex flex PENDING→RUNNING"]);
    await moreCycles(port, 2);
    const lines = daemon.lines;
    expect(lines.filter((l) => l.event === "restore_access_denied")).toHaveLength(1);
    expect(
      lines.filter((l) => l.event === "restore_poll_error").map((l) => [l.restoreId, l.status]),
    ).toEqual([[REFUSED, 403]]);
    const body = await metrics(port);
    expect(body).toMatch(/atlas_restore_api_requests_total\{api="dedicated",code="403"\} [1-9]/);
    expect(body).toContain(
      `atlas_restore_job_poll_success{group_id="${GROUP}",cluster_name="Flex0",restore_id="${FLEX}",api="flex"} 1`,
    );
    expect(body).toContain(
      `atlas_restore_job_poll_success{group_id="${GROUP}",cluster_name="Denied0",restore_id="${REFUSED}",api="dedicated"} 0`,
    );
    expect(body).toContain("atlas_restore_api_up 1");
    sim.clearFaults();
    await daemon.waitForLine(
      (l) => l.event === "restore_transition" && l.restoreId === REFUSED,
      "the refused job read once the role is granted",
    );
  });

  it("logs COMPLETED, FAILED at 50, CANCELLED at 40 and a download ready without finishedAt", async () => {
    const mark = daemon.lines.length;
    sim.advance(230); // t=240
    expect(await transitionsAfter(daemon, mark, 6)).toEqual([
      "30 dedicated done RUNNING→COMPLETED",
      "30 dedicated files RUNNING→COMPLETED",
      "30 dedicated refused RUNNING→COMPLETED",
      "30 flex flex RUNNING→COMPLETED",
      "40 dedicated dropped RUNNING→CANCELLED",
      "50 dedicated broken RUNNING→FAILED",
    ]);
    const after = daemon.lines.slice(mark);
    const of = (restoreId: string) =>
      after.find((l) => l.event === "restore_transition" && l.restoreId === restoreId);
    expect(of(DONE)).toMatchObject({
      restoreScheduledDate: "2025-06-01T12:00:00Z",
      restoreFinishedDate: "2025-06-01T12:04:00Z",
      durationSeconds: 240,
      flags: { finished: true },
    });
    expect(of(FILES)).toMatchObject({ deliveryType: "download", flags: { deliveryUrls: 1 } });
    expect(of(FILES)).not.toHaveProperty("restoreFinishedDate");
    expect(JSON.stringify(daemon.lines)).not.toContain("/backup/restore/v2/pull/");
    expect(of(BROKEN)).toMatchObject({ level: 50, flags: { failed: true } });
    expect(of(DROPPED)).toMatchObject({ level: 40, flags: { cancelled: true } });

    const body = await metrics(port);
    const status = (cluster: string, restoreId: string, api: string, value: string) =>
      `atlas_restore_job_status{group_id="${GROUP}",cluster_name="${cluster}",restore_id="${restoreId}",api="${api}",status="${value}"}`;
    expect(body).toContain(`${status("Prod0", DROPPED, "dedicated", "CANCELLED")} 1`);
    expect(body).toContain(`${status("Prod0", DONE, "dedicated", "CANCELLED")} 0`);
    expect(body).toContain(`${status("Prod0", BROKEN, "dedicated", "FAILED")} 1`);
    expect(body).not.toContain(status("Prod0", DONE, "dedicated", "PENDING"));
    expect(body).not.toContain(status("Flex0", FLEX, "flex", "CANCELLED"));
    expect(body).toContain(
      'atlas_restore_transitions_total{api="dedicated",from="RUNNING",to="CANCELLED"} 1',
    );
    const ids = `group_id="${GROUP}",cluster_name="Prod0",restore_id="${DONE}"`;
    expect(body).toContain(`atlas_restore_job_scheduled_timestamp_seconds{${ids}} ${T0 / 1000}`);
    expect(body).toContain(
      `atlas_restore_job_finished_timestamp_seconds{${ids}} ${T0 / 1000 + 240}`,
    );
  });

  it("polls no finished job again", async () => {
    await moreCycles(port, 1);
    const before = sim.stats().requests;
    const lines = daemon.lines.length;
    await moreCycles(port, 2);
    expect(sim.stats().requests).toBe(before);
    expect(daemon.lines.length).toBe(lines);
    daemon.child.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    expect(daemon.garbage).toEqual([]);
    expect(daemon.stderr()).toBe("");
  });
});

describe("wait --api dedicated", () => {
  let sim: Simulator;
  let child: DaemonProcess | undefined;

  afterEach(async () => {
    if (child && child.child.exitCode === null) child.child.kill("SIGKILL");
    child = undefined;
    await sim.close();
  });

  async function waitForRestore(restoreId: string, advance: number) {
    sim = await startSim(SCENARIO);
    child = spawnDaemon(
      [
        "wait",
        "--group-id",
        GROUP,
        "--cluster-name",
        "Prod0",
        "--api",
        "dedicated",
        "--interval",
        "1s",
        "--timeout",
        "1m",
        restoreId,
      ],
      { ...ENV, MONGODB_ATLAS_BASE_URL: sim.url },
    );
    const started = child;
    await waitFor(
      () => (started.stderr().includes(": RUNNING") ? true : undefined),
      `the first status; stderr: ${started.stderr()}`,
      20_000,
    );
    sim.advance(advance);
    const code = await started.exited;
    return { code, results: started.lines as Record<string, unknown>[], stderr: started.stderr() };
  }

  it("exits 0 once the restore has finished", async () => {
    const { code, results, stderr } = await waitForRestore(DONE, 240);
    expect(code).toBe(0);
    expect(results).toEqual([
      expect.objectContaining({
        restoreId: DONE,
        api: "dedicated",
        status: "COMPLETED",
        outcome: "completed",
        restoreScheduledDate: "2025-06-01T12:00:00Z",
        restoreFinishedDate: "2025-06-01T12:04:00Z",
      }),
    ]);
    expect(stderr).toMatch(/Prod0 683c…001: RUNNING → COMPLETED after \d+s\n$/);
    expect(sim.stats().byRoute).toEqual({ "dedicated.get": expect.any(Number) as unknown });
  });

  it("exits 1 on a failed restore", async () => {
    const { code, results } = await waitForRestore(BROKEN, 240);
    expect(code).toBe(1);
    expect(results).toEqual([
      expect.objectContaining({ restoreId: BROKEN, status: "FAILED", outcome: "failed" }),
    ]);
  });

  it("exits 1 on a cancelled restore", async () => {
    const { code, results } = await waitForRestore(DROPPED, 240);
    expect(code).toBe(1);
    expect(results).toEqual([
      expect.objectContaining({ restoreId: DROPPED, status: "CANCELLED", outcome: "cancelled" }),
    ]);
  });
});
