import { afterEach, describe, expect, it } from "vitest";
import { CycleHealth, defaultStaleAfterMs } from "../../src/http/health.js";
import type { Simulator } from "../../src/simulator/index.js";
import { API_KEY_CREDENTIALS, GROUP, id, startSim, waitFor } from "../support/fixtures.js";
import { startInProcess, type InProcessDaemon } from "../support/in-process.js";

let sim: Simulator | undefined;
let daemon: InProcessDaemon | undefined;

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await sim?.close();
  sim = undefined;
});

describe("health from the last finished cycle", () => {
  it("defaults to five of the schedule's longest gaps, at least five minutes", () => {
    expect(defaultStaleAfterMs(30_000)).toBe(300_000);
    expect(defaultStaleAfterMs(3_600_000)).toBe(18_000_000);
    expect(defaultStaleAfterMs(undefined)).toBe(300_000);
  });

  it("is healthy until the limit passes without a finished cycle", () => {
    let now = 1_000;
    const health = new CycleHealth(
      () => 60_000,
      () => now,
    );
    now += 60_000;
    expect(health.healthy()).toBe(true);
    now += 1;
    expect(health.healthy()).toBe(false);
    health.cycleFinished();
    expect(health.healthy()).toBe(true);
  });

  it("answers /healthz 503 once no cycle has finished for healthStaleAfter, 200 after the next", async () => {
    sim = await startSim({
      clusters: [{ groupId: GROUP, name: "Cluster0", kind: "tenant" }],
      jobs: [
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: id(0xf1),
          script: [{ afterSeconds: 0, status: "RUNNING" }],
        },
      ],
    });
    // The schedule never fires in the test: only cycles it runs count.
    daemon = await startInProcess(sim, {
      jobs: [{ groupId: GROUP, clusterName: "Cluster0", restoreId: id(0xf1) }],
      credentials: API_KEY_CREDENTIALS,
      healthStaleAfterMs: 3_000,
    });
    const port = daemon.daemon.address?.port;
    const healthz = async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
    const status = await waitFor(
      async () => ((await healthz()) === 503 ? 503 : undefined),
      "/healthz to fail",
    );
    expect(status).toBe(503);
    await daemon.cycle();
    expect(await healthz()).toBe(200);
  });
});
