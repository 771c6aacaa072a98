/**
 * Pacing is per rate-limit bucket: one project throttled by Atlas (429 with a long Retry-After)
 * defers its own cluster's LIST to a later cycle, and every other project's LIST goes on.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.js";
import { SERVICE_ACCOUNT_CREDENTIALS, id, startSim } from "../support/fixtures.js";
import { startInProcess, type InProcessDaemon } from "../support/in-process.js";

const BUSY = "6a0000000000000000000011";
const CALM = "6a0000000000000000000012";

let sim: Simulator | undefined;
let running: InProcessDaemon | undefined;

afterEach(async () => {
  await running?.stop();
  await sim?.close();
  running = undefined;
  sim = undefined;
});

describe("rate-limit buckets", () => {
  it("let a throttled project wait without starving another", async () => {
    sim = await startSim({
      clusters: [
        { groupId: BUSY, name: "Flex0", kind: "flex" },
        { groupId: CALM, name: "Flex0", kind: "flex" },
      ],
      jobs: [BUSY, CALM].map((groupId, i) => ({
        groupId,
        clusterName: "Flex0",
        id: id(i + 1),
        script: [{ afterSeconds: 0, status: "RUNNING" }],
      })),
    });
    running = await startInProcess(sim, {
      jobs: [],
      watch: [
        { kind: "cluster", groupId: BUSY, clusterName: "Flex0" },
        { kind: "cluster", groupId: CALM, clusterName: "Flex0" },
      ],
      credentials: SERVICE_ACCOUNT_CREDENTIALS,
      api: "flex",
    });
    sim.addFault({
      kind: "rate_limit",
      times: 1,
      retryAfterSeconds: 600,
      match: { api: "flex", groupId: BUSY, list: true },
    });
    sim.resetStats();
    const { poller } = running.daemon;
    const cycle = () => poller.pollOnce(new AbortController().signal, Date.now() + 2_000);
    const first = await cycle();
    const second = await cycle();
    expect([first.failed, first.succeeded]).toEqual([1, 1]);
    // The busy project waits out its Retry-After: its LIST, and the GET of its unfinished job
    // that no LIST covers while listing fails, share the bucket. The calm one is listed again.
    expect([second.deferred, second.succeeded]).toEqual([2, 1]);
    expect(sim.stats().listsByCluster).toEqual({
      [`${BUSY}/Flex0`]: 1,
      [`${CALM}/Flex0`]: 2,
    });
    expect(await running.metrics()).toContain(
      'atlas_restore_polls_deferred_total{api="flex",reason="retry_after"} 2',
    );
  });
});
