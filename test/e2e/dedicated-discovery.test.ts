/**
 * Discovery of dedicated clusters end to end: the built daemon, watching a project, also lists
 * the project's clusters and watches the dedicated ones (Flex still wins a shared name; a
 * shared-tier cluster is set aside); it reports their current restores and stays quiet about one
 * that finished months ago. A `watch` entry naming a dedicated cluster finds its family from
 * Atlas's 400 on the Flex read.
 */
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.js";
import { spawnDaemon, writeConfig, type DaemonProcess } from "../support/daemon-process.js";
import { API_KEY, GROUP, T0, id, startSim, waitFor } from "../support/fixtures.js";

const OTHER = "5f0a1b2c3d4e5f6a7b8c9d0e";
const DAY = 86_400;

/** A dedicated job's id: its first four bytes are its creation time, `seconds` after t=0. */
function dedicatedId(seconds: number, n: number): string {
  const created = Math.floor(T0 / 1000) + seconds;
  return `${created.toString(16).padStart(8, "0")}d2c4a03c${n.toString(16).padStart(8, "0")}`;
}

const OLD = dedicatedId(-90 * DAY, 1); // Prod0: finished 90 days ago
const NEW = dedicatedId(0, 2); // Prod0: RUNNING, COMPLETED at 240 s
const ENTRY = dedicatedId(0, 3); // Prod1 in OTHER, watched through a clusterName entry
const FLEX = id(4); // Flex0: RUNNING

const running = (last: string) => [
  { afterSeconds: 0, status: "RUNNING" },
  { afterSeconds: 240, status: last },
];

let sim: Simulator;
let daemon: DaemonProcess;

async function metrics(port: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}/metrics`);
  return res.body.text();
}

beforeAll(async () => {
  sim = await startSim({
    clusters: [
      { groupId: GROUP, name: "Flex0", kind: "flex" },
      { groupId: GROUP, name: "Prod0", kind: "dedicated", providerName: "AZURE" },
      { groupId: GROUP, name: "Shared0", kind: "tenant" },
      { groupId: OTHER, name: "Prod1", kind: "dedicated" },
    ],
    jobs: [
      {
        groupId: GROUP,
        clusterName: "Prod0",
        id: OLD,
        createdAfterSeconds: -90 * DAY,
        script: [
          { afterSeconds: -90 * DAY, status: "RUNNING" },
          { afterSeconds: -90 * DAY + 240, status: "COMPLETED" },
        ],
      },
      { groupId: GROUP, clusterName: "Prod0", id: NEW, script: running("COMPLETED") },
      { groupId: OTHER, clusterName: "Prod1", id: ENTRY, script: running("FAILED") },
      { groupId: GROUP, clusterName: "Flex0", id: FLEX, script: running("COMPLETED") },
    ],
  });
  const { dir, file } = await writeConfig({
    schedule: "* * * * * *",
    listen: "127.0.0.1:0",
    baseUrl: sim.url,
    discoveryInterval: "1s",
    watch: [{ groupId: GROUP }, { groupId: OTHER, clusterName: "Prod1" }],
  });
  daemon = spawnDaemon(["--config", file], {
    MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
    MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey,
    RESTORE_WATCH_STATE_FILE: join(dir, "state.json"),
  });
});

afterAll(async () => {
  if (daemon.child.exitCode === null) {
    daemon.child.kill("SIGTERM");
    await daemon.exited;
  }
  await sim.close();
});

const transitions = () =>
  daemon.lines
    .filter((l) => l.event === "restore_transition")
    .map((l) => `${l.level} ${l.api} ${l.clusterName} ${String(l.restoreId)} ${l.from}→${l.to}`)
    .sort();

describe("watching a project with dedicated clusters", () => {
  it("watches the dedicated cluster, reports its current restore and not the old one", async () => {
    const port = await daemon.port();
    await waitFor(
      () => (transitions().length >= 3 ? true : undefined),
      `three first sightings; stderr: ${daemon.stderr()}`,
      20_000,
    );
    expect(transitions()).toEqual([
      `30 dedicated Prod0 ${NEW} null→RUNNING`,
      `30 dedicated Prod1 ${ENTRY} null→RUNNING`,
      `30 flex Flex0 ${FLEX} null→RUNNING`,
    ]);
    const started = daemon.lines
      .filter((l) => l.event === "cluster_watch_started")
      .map((l) => `${String(l.clusterName)} ${String(l.api)}`)
      .sort();
    expect(started).toEqual(["Flex0 flex", "Prod0 dedicated", "Prod1 flex"]);
    expect(
      daemon.lines.find((l) => l.event === "cluster_api_detected" && l.clusterName === "Prod1"),
    ).toMatchObject({ level: 30, groupId: OTHER, from: "flex", to: "dedicated" });
    const body = await metrics(port);
    expect(body).not.toContain(OLD);
    expect(body).not.toContain('cluster_name="Shared0"');
    expect(body).toContain(`restore_id="${NEW}",api="dedicated",status="RUNNING"} 1`);
    expect(sim.stats().byRoute["clusters.list"]).toBeGreaterThanOrEqual(1);
    expect(sim.stats().byRoute["dedicated.list"]).toBeGreaterThanOrEqual(2);
  });

  it("follows the discovered restores to their end, FAILED at level 50", async () => {
    const mark = daemon.lines.length;
    sim.advance(240);
    await waitFor(
      () =>
        daemon.lines.slice(mark).filter((l) => l.event === "restore_transition").length >= 3
          ? true
          : undefined,
      "three final transitions",
      20_000,
    );
    expect(
      daemon.lines
        .slice(mark)
        .filter((l) => l.event === "restore_transition")
        .map((l) => `${l.level} ${String(l.restoreId)} ${l.from}→${l.to}`)
        .sort(),
    ).toEqual(
      [
        `30 ${NEW} RUNNING→COMPLETED`,
        `50 ${ENTRY} RUNNING→FAILED`,
        `30 ${FLEX} RUNNING→COMPLETED`,
      ].sort(),
    );
    expect(transitions().some((line) => line.includes(OLD))).toBe(false);
    daemon.child.kill("SIGTERM");
    expect(await daemon.exited).toBe(0);
    expect(daemon.garbage).toEqual([]);
  });
});
