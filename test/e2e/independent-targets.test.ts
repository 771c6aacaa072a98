/**
 * Each target is polled on its own: with a one-second schedule, one job's GET that hangs for two
 * minutes delays no other job's line, and its own ticks are skipped and counted while it hangs.
 * The built daemon runs as a child against the simulator.
 */
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.js";
import { spawnDaemon, writeConfig, type DaemonProcess } from "../support/daemon-process.js";
import { API_KEY, GROUP, id, startSim, waitFor } from "../support/fixtures.js";

const HUNG = id(1);
const MOVING = id(2);

let sim: Simulator;
let daemon: DaemonProcess;

beforeAll(async () => {
  sim = await startSim({
    clusters: [{ groupId: GROUP, name: "Flex0", kind: "flex" }],
    jobs: [
      {
        groupId: GROUP,
        clusterName: "Flex0",
        id: HUNG,
        script: [{ afterSeconds: 0, status: "RUNNING" }],
      },
      {
        groupId: GROUP,
        clusterName: "Flex0",
        id: MOVING,
        script: [
          { afterSeconds: 0, status: "PENDING" },
          { afterSeconds: 10, status: "RUNNING" },
          { afterSeconds: 20, status: "COMPLETED" },
        ],
      },
    ],
  });
  const { dir, file } = await writeConfig({
    schedule: "* * * * * *",
    api: "flex",
    listen: "127.0.0.1:0",
    baseUrl: sim.url,
    // Long enough that the hung request is still hanging when the other job's line is due.
    timeouts: { connect: "2s", headers: "3m", body: "3m" },
    jobs: [
      { groupId: GROUP, clusterName: "Flex0", restoreId: HUNG },
      { groupId: GROUP, clusterName: "Flex0", restoreId: MOVING },
    ],
  });
  daemon = spawnDaemon(["--config", file], {
    MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
    MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey,
    RESTORE_WATCH_STATE_FILE: join(dir, "state.json"),
  });
});

afterAll(async () => {
  daemon.child.kill("SIGKILL");
  await daemon.exited;
  await sim.close();
});

async function metrics(port: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}/metrics`);
  return res.body.text();
}

/** The value of a series, which must be present. */
function value(exposition: string, series: string): number {
  const line = exposition.split("\n").find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no series ${series}`);
  return Number(line.slice(series.length + 1));
}

/** Requests the simulator received and has not answered yet. */
function hanging(): number {
  const stats = sim.stats();
  return stats.requests - Object.values(stats.byStatus).reduce((a, b) => a + b, 0);
}

const transition = (restoreId: string, to: string) => (line: Record<string, unknown>) =>
  line.event === "restore_transition" && line.restoreId === restoreId && line.to === to;

describe("one hanging request", () => {
  it("delays no other job's line, and its own ticks are skipped and counted", async () => {
    const port = await daemon.port();
    await daemon.waitForLine(transition(MOVING, "PENDING"), "the first sighting");
    await daemon.waitForLine(transition(HUNG, "RUNNING"), "the first sighting of the other job");

    const hangStarted = daemon.lines.length;
    // From now on every GET of HUNG hangs for two minutes (the first one holds its target).
    sim.addFault({
      kind: "slow_headers",
      delayMs: 120_000,
      match: { restoreId: HUNG },
    });
    await waitFor(() => (hanging() > 0 ? true : undefined), "a request that hangs");

    const getsBefore = sim.stats().byRoute["flex.get"] ?? 0;
    sim.advance(10);
    const changed = Date.now();
    const line = await daemon.waitForLine(transition(MOVING, "RUNNING"), "the other job's change");
    expect(Date.now() - changed).toBeLessThan(5_000);
    expect(line).toMatchObject({ level: 30, from: "PENDING", to: "RUNNING" });

    // The other job is still polled every tick, and the hung one is skipped, not resent.
    sim.advance(10);
    await daemon.waitForLine(transition(MOVING, "COMPLETED"), "the other job finishing");
    // Each tick while it hangs skips the hung job. On a busy machine a whole tick may be skipped
    // instead (the cycle before it overran), so the second skip is waited for, not counted now.
    const text = await waitFor(async () => {
      const exposition = await metrics(port);
      const skipped = value(exposition, 'atlas_restore_polls_skipped_total{target="job"}');
      return skipped >= 2 ? exposition : undefined;
    }, "a second skipped poll of the hung job");
    expect(value(text, 'atlas_restore_polls_skipped_total{target="cluster"}')).toBe(0);
    expect((sim.stats().byRoute["flex.get"] ?? 0) - getsBefore).toBeGreaterThanOrEqual(2);
    expect(hanging()).toBe(1);
    // The hung target is warned about once, however many of its ticks were skipped. (On a busy
    // machine the other job's GET may overrun a tick too, and be warned about on its own.)
    const warned = daemon.lines
      .slice(hangStarted)
      .filter((l) => l.event === "poll_skipped" && String(l.id).endsWith(HUNG));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, target: "job", id: `${GROUP}/Flex0/${HUNG}` });
    expect(daemon.lines.filter((l) => l.event === "restore_transition")).toHaveLength(4);
  });
});
