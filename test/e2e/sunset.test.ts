/**
 * The tenant endpoint's sunset, end to end: the built daemon against the simulator, each case
 * starting from the same job list on clusters that Atlas has converted to Flex.
 */
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.js";
import {
  spawnDaemon,
  writeConfig,
  type DaemonProcess,
  type LogLine,
} from "../support/daemon-process.js";
import { API_KEY, GROUP, id, startSim, waitFor } from "../support/fixtures.js";
import { sample } from "../support/in-process.js";

const JOBS = [
  { clusterName: "Legacy0", restoreId: id(0x11) },
  { clusterName: "Legacy0", restoreId: id(0x12) },
  { clusterName: "Legacy1", restoreId: id(0x13) },
];
const SCRIPT = [
  { afterSeconds: 0, status: "PENDING" },
  { afterSeconds: 10, status: "RUNNING" },
  { afterSeconds: 20, status: "COMPLETED" },
];

let sim: Simulator | undefined;
let daemons: DaemonProcess[] = [];

afterEach(async () => {
  for (const daemon of daemons) daemon.child.kill("SIGKILL");
  daemons = [];
  await sim?.close();
  sim = undefined;
});

async function startWorld(tenantSunset: string | null): Promise<Simulator> {
  sim = await startSim({
    tenant: { sunset: tenantSunset, deprecation: "2024-11-13T00:00:00Z" },
    clusters: [
      { groupId: GROUP, name: "Legacy0", kind: "flex" },
      { groupId: GROUP, name: "Legacy1", kind: "flex" },
    ],
    jobs: JOBS.map((job) => ({
      groupId: GROUP,
      clusterName: job.clusterName,
      id: job.restoreId,
      script: SCRIPT,
    })),
  });
  return sim;
}

async function configFor(world: Simulator, extra: Record<string, unknown>) {
  return writeConfig({
    schedule: "* * * * * *",
    listen: "127.0.0.1:0",
    baseUrl: world.url,
    jobs: JOBS.map((job) => ({ groupId: GROUP, ...job })),
    ...extra,
  });
}

function start(configFile: string, stateFile: string): DaemonProcess {
  const daemon = spawnDaemon(["--config", configFile], {
    MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
    MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey,
    RESTORE_WATCH_STATE_FILE: stateFile,
  });
  daemons.push(daemon);
  return daemon;
}

async function stop(daemon: DaemonProcess): Promise<void> {
  daemon.child.kill("SIGTERM");
  expect(await daemon.exited).toBe(0);
}

const transitions = (lines: readonly LogLine[]) =>
  lines
    .filter((l) => l.event === "restore_transition")
    .map((l) => `${String(l.restoreId).slice(-2)} ${l.api} ${l.from}→${l.to}`)
    .sort();

async function waitForTransitions(daemons: readonly DaemonProcess[], count: number) {
  return waitFor(() => {
    const all = transitions(daemons.flatMap((d) => d.lines));
    return all.length >= count ? all : undefined;
  }, `${count} transitions`);
}

async function metrics(daemon: DaemonProcess): Promise<string> {
  const res = await request(`http://127.0.0.1:${await daemon.port()}/metrics`);
  return res.body.text();
}

/** Waits until the daemon has finished `n` more cycles than it had when called. */
async function cycles(daemon: DaemonProcess, n: number): Promise<void> {
  const count = async () =>
    sample(await metrics(daemon), "atlas_restore_poll_cycle_duration_seconds_count");
  const target = (await count()) + n;
  await waitFor(async () => ((await count()) >= target ? true : undefined), `${n} more cycles`);
}

describe("api: auto", () => {
  it("moves every job to Flex when tenant paths answer 410 mid-run, keeps the history, and a restart keeps it there", async () => {
    const world = await startWorld(null);
    const { dir, file } = await configFor(world, { api: "auto", tenantSunset: "2099-01-01" });
    const first = start(file, `${dir}/state.json`);
    expect(await waitForTransitions([first], 3)).toEqual([
      "11 tenant null→PENDING",
      "12 tenant null→PENDING",
      "13 tenant null→PENDING",
    ]);
    const deprecated = first.lines.filter((l) => l.event === "restore_api_deprecated");
    expect(deprecated).toMatchObject([
      { level: 40, api: "tenant", deprecation: "2024-11-13T00:00:00.000Z" },
    ]);
    expect(await metrics(first)).toContain(
      'atlas_restore_api_sunset_timestamp_seconds{api="tenant",source="config"} 4070908800',
    );

    world.advance(10);
    await waitForTransitions([first], 6);
    world.setTenantSunset(world.now()); // from now on tenant paths answer 410
    await waitFor(
      () =>
        first.lines.filter((l) => l.event === "restore_api_switched").length >= 3
          ? true
          : undefined,
      "three switches",
    );
    const switched = first.lines.filter((l) => l.event === "restore_api_switched");
    expect(
      switched.map((l) => [l.level, String(l.restoreId).slice(-2), l.from, l.to, l.reason]).sort(),
    ).toEqual([
      [40, "11", "tenant", "flex", "version_gone"],
      [40, "12", "tenant", "flex", "version_gone"],
      [40, "13", "tenant", "flex", "version_gone"],
    ]);
    await cycles(first, 1);
    const exposition = await metrics(first);
    expect(exposition).toContain(`restore_id="${id(0x11)}",api="flex",status="RUNNING"} 1`);
    expect(exposition).not.toMatch(/atlas_restore_job_status\{[^}]*api="tenant"/);
    expect(exposition).toMatch(
      /atlas_restore_api_sunset_timestamp_seconds\{api="tenant",source="header"\} \d+/,
    );
    await stop(first);

    // Atlas serves tenant paths again: a daemon that forgot the switch would go back to them.
    world.setTenantSunset(null);
    const tenantBefore = world.stats().byRoute["tenant.get"] ?? 0;
    const second = start(file, `${dir}/state.json`);
    world.advance(10);
    const all = await waitForTransitions([first, second], 9);
    expect(all).toEqual([
      "11 flex RUNNING→COMPLETED",
      "11 tenant PENDING→RUNNING",
      "11 tenant null→PENDING",
      "12 flex RUNNING→COMPLETED",
      "12 tenant PENDING→RUNNING",
      "12 tenant null→PENDING",
      "13 flex RUNNING→COMPLETED",
      "13 tenant PENDING→RUNNING",
      "13 tenant null→PENDING",
    ]);
    expect(world.stats().byRoute["tenant.get"] ?? 0).toBe(tenantBefore);
    expect(second.lines.filter((l) => l.event === "restore_api_switched")).toEqual([]);
    await stop(second);
  });

  it("makes no tenant request at all once tenantSunset has passed", async () => {
    const world = await startWorld("2025-01-01T00:00:00Z");
    const { dir, file } = await configFor(world, { api: "auto", tenantSunset: "2026-01-22" });
    const daemon = start(file, `${dir}/state.json`);
    expect(await waitForTransitions([daemon], 3)).toEqual([
      "11 flex null→PENDING",
      "12 flex null→PENDING",
      "13 flex null→PENDING",
    ]);
    world.advance(20);
    await waitForTransitions([daemon], 6);
    expect(world.stats().byRoute["tenant.get"]).toBeUndefined();
    expect(world.stats().byRoute["flex.get"]).toBeGreaterThanOrEqual(6);
    expect(daemon.lines.filter((l) => l.event === "restore_api_switched")).toEqual([]);
    await stop(daemon);
  });
});

describe("api: tenant", () => {
  it("makes no Flex request and shows the tenant error in logs and metrics", async () => {
    const world = await startWorld("2025-01-01T00:00:00Z");
    const { dir, file } = await configFor(world, { api: "tenant" });
    const daemon = start(file, `${dir}/state.json`);
    const errors = await waitFor(() => {
      const found = daemon.lines.filter((l) => l.event === "restore_poll_error");
      return found.length >= 3 ? found : undefined;
    }, "three poll errors");
    expect(errors.map((l) => [l.level, l.api, l.status, l.errorCode]).sort()).toEqual([
      [40, "tenant", 410, "VERSION_GONE"],
      [40, "tenant", 410, "VERSION_GONE"],
      [40, "tenant", 410, "VERSION_GONE"],
    ]);
    await cycles(daemon, 2);
    // Logged once per job, not every cycle.
    expect(daemon.lines.filter((l) => l.event === "restore_poll_error")).toHaveLength(3);
    const exposition = await metrics(daemon);
    expect(exposition).toMatch(
      /atlas_restore_api_requests_total\{api="tenant",code="410"\} ([6-9]|\d\d+)/,
    );
    expect(exposition).toContain(
      `atlas_restore_job_poll_success{group_id="${GROUP}",cluster_name="Legacy0",restore_id="${id(0x11)}",api="tenant"} 0`,
    );
    expect(exposition).toContain("atlas_restore_api_up 1");
    expect(world.stats().byRoute["flex.get"]).toBeUndefined();
    expect(daemon.lines.filter((l) => l.event === "restore_api_switched")).toEqual([]);
    await stop(daemon);
  });
});
