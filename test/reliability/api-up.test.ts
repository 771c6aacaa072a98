/**
 * `atlas_restore_api_up` says whether Atlas is usable for the daemon: unknown until an answer
 * says so, kept across a restart, and 0 when Atlas refuses the credentials.
 */
import { afterEach, describe, expect, it } from "vitest";
import { AtlasHttpError, AtlasNetworkError, AtlasAuthError } from "../../src/atlas/errors.js";
import { apiUsableAfter } from "../../src/polling/api-verdict.js";
import type { Simulator } from "../../src/simulator/index.js";
import { API_KEY_CREDENTIALS, GROUP, id, startSim } from "../support/fixtures.js";
import {
  maybeSample,
  sample,
  startInProcess,
  type InProcessDaemon,
} from "../support/in-process.js";

const A = id(0xc1);
const JOBS = [{ groupId: GROUP, clusterName: "Cluster0", restoreId: A }];

let sim: Simulator | undefined;
const daemons: InProcessDaemon[] = [];

afterEach(async () => {
  for (const daemon of daemons.splice(0)) await daemon.stop();
  await sim?.close();
  sim = undefined;
});

async function world(script: { afterSeconds: number; status: string }[]) {
  sim = await startSim({
    clusters: [{ groupId: GROUP, name: "Cluster0", kind: "tenant" }],
    jobs: [{ groupId: GROUP, clusterName: "Cluster0", id: A, script }],
  });
  return sim;
}

describe("atlas_restore_api_up", () => {
  it("keeps the last verdict across a restart where every job is finished", async () => {
    const s = await world([{ afterSeconds: 0, status: "COMPLETED" }]);
    const first = await startInProcess(s, { jobs: JOBS, credentials: API_KEY_CREDENTIALS });
    daemons.push(first);
    expect(sample(await first.metrics(), "atlas_restore_api_up")).toBe(1);
    await first.stop();
    daemons.splice(0);
    s.resetStats();
    const second = await startInProcess(s, {
      jobs: JOBS,
      credentials: API_KEY_CREDENTIALS,
      stateFile: first.stateFile,
    });
    daemons.push(second);
    await second.cycle();
    expect(s.stats().requests).toBe(0);
    expect(sample(await second.metrics(), "atlas_restore_api_up")).toBe(1);
  });

  it("has no value before Atlas has said anything", async () => {
    const s = await world([{ afterSeconds: 0, status: "COMPLETED" }]);
    const daemon = await startInProcess(s, { jobs: [], credentials: API_KEY_CREDENTIALS });
    daemons.push(daemon);
    expect(maybeSample(await daemon.metrics(), "atlas_restore_api_up")).toBeUndefined();
  });

  it("is 0 when Atlas refuses the credentials with 401", async () => {
    const s = await world([{ afterSeconds: 0, status: "RUNNING" }]);
    s.addFault({ kind: "unauthorized" });
    const daemon = await startInProcess(s, { jobs: JOBS, credentials: API_KEY_CREDENTIALS });
    daemons.push(daemon);
    expect(daemon.lines.filter((l) => l.event === "restore_poll_error")).toMatchObject([
      { errorKind: "http_401_UNEXPECTED_ERROR" },
    ]);
    expect(sample(await daemon.metrics(), "atlas_restore_api_up")).toBe(0);
  });

  it("is 0 when Atlas refuses the caller with 403 (an IP access list)", async () => {
    const s = await world([{ afterSeconds: 0, status: "RUNNING" }]);
    s.addFault({ kind: "forbidden" });
    const daemon = await startInProcess(s, { jobs: JOBS, credentials: API_KEY_CREDENTIALS });
    daemons.push(daemon);
    expect(daemon.lines.filter((l) => l.event === "restore_poll_error")).toMatchObject([
      { status: 403 },
    ]);
    expect(sample(await daemon.metrics(), "atlas_restore_api_up")).toBe(0);
  });

  it.each([
    [404, true],
    [429, true],
    [401, false],
    [403, false],
    [500, false],
    [503, false],
  ])("judges an HTTP %i as usable: %s", (status, usable) => {
    const error = new AtlasHttpError({ status }, { operation: "get", target: "/" });
    expect(apiUsableAfter(error)).toBe(usable);
  });

  it("judges a network failure unusable and a spent token budget as no verdict", () => {
    const context = { operation: "get", target: "/" };
    expect(apiUsableAfter(new AtlasNetworkError("ECONNREFUSED", "refused", context))).toBe(false);
    expect(apiUsableAfter(new AtlasAuthError("budget spent", context))).toBeUndefined();
  });
});
