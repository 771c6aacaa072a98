/**
 * Stopping: a stop at any moment of start-up keeps the saved state, and SIGTERM ends the process
 * with exit 0 well within Docker's 10 s whatever Atlas does, the state saved first.
 */
import { readFile, writeFile } from "node:fs/promises";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Daemon } from "../../src/commands/daemon.js";
import type { Simulator } from "../../src/simulator/index.js";
import { FileStateStore, type LoadResult } from "../../src/state/store.js";
import { writeConfig } from "../support/daemon-process.js";
import {
  API_KEY_CREDENTIALS,
  GROUP,
  SERVICE_ACCOUNT,
  id,
  startSim,
  waitFor,
} from "../support/fixtures.js";
import { inProcessSettings, recordingLogger, tempStateFile } from "../support/in-process.js";
import { killAll, startDaemonRun, stopRun, type DaemonRun } from "./daemon-run.js";

const HUNG = id(0xd1);
const FINE = id(0xd2);
const JOBS = [
  { groupId: GROUP, clusterName: "Cluster0", restoreId: HUNG },
  { groupId: GROUP, clusterName: "Cluster0", restoreId: FINE },
];

let sim: Simulator | undefined;
const runs: DaemonRun[] = [];

afterEach(async () => {
  await killAll(runs.splice(0));
  await sim?.close();
  sim = undefined;
});
afterAll(() => killAll(runs));

async function world(): Promise<Simulator> {
  sim = await startSim({
    clusters: [{ groupId: GROUP, name: "Cluster0", kind: "tenant" }],
    jobs: JOBS.map((job) => ({
      groupId: GROUP,
      clusterName: job.clusterName,
      id: job.restoreId,
      script: [{ afterSeconds: 0, status: "RUNNING" }],
    })),
  });
  return sim;
}

/** A file store whose load() waits until the test lets it go. */
class GatedStore extends FileStateStore {
  readonly loading: Promise<void>;
  #entered!: () => void;
  #release!: () => void;
  readonly #gate = new Promise<void>((resolve) => (this.#release = resolve));

  constructor(path: string) {
    super(path);
    this.loading = new Promise<void>((resolve) => (this.#entered = resolve));
  }

  override async load(): Promise<LoadResult> {
    this.#entered();
    await this.#gate;
    return super.load();
  }

  release(): void {
    this.#release();
  }
}

describe("stopping", () => {
  it("keeps the saved state when stopped while it is still being loaded", async () => {
    const s = await world();
    const stateFile = await tempStateFile();
    const saved = JSON.stringify({
      version: 2,
      savedAt: "2026-11-29T10:00:00.000Z",
      apiUp: true,
      jobs: JOBS.map((job) => ({ ...job, api: "tenant", status: "QUEUED" })),
    });
    await writeFile(stateFile, saved);
    const store = new GatedStore(stateFile);
    const { logger, lines } = recordingLogger();
    const daemon = new Daemon(
      inProcessSettings(s, { jobs: JOBS, credentials: API_KEY_CREDENTIALS }, stateFile),
      { logger, store },
    );
    const starting = daemon.start();
    await store.loading;
    const stopping = daemon.stop();
    store.release();
    await Promise.all([starting, stopping]);
    expect(await readFile(stateFile, "utf8")).toBe(saved);
    expect(s.stats().requests).toBe(0);
    expect(lines.map((l) => l.event)).not.toContain("restore_transition");
  });

  it("exits 0 within 10 s of SIGTERM while a request and the token's revocation hang, state saved first", async () => {
    const s = await world();
    // Headers that never come, on one job's poll and on the revocation.
    s.addFault({ kind: "slow_headers", match: { restoreId: HUNG } });
    s.addFault({ kind: "slow_headers", match: { api: "revoke" } });
    const stateFile = await tempStateFile();
    const { file } = await writeConfig({
      schedule: "0 0 1 1 *",
      api: "tenant",
      listen: "127.0.0.1:0",
      baseUrl: s.url,
      stateFile,
      timeouts: { connect: "30s", headers: "5m", body: "5m" },
      jobs: JOBS,
    });
    const run = startDaemonRun(["--config", file], {
      MONGODB_ATLAS_CLIENT_ID: SERVICE_ACCOUNT.clientId,
      MONGODB_ATLAS_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret,
    });
    runs.push(run);
    await run.waitForLine((l) => l.event === "daemon_started", "daemon_started");
    // Both polls went out (the hung one is still waiting for its headers).
    await waitFor(
      () => ((s.stats().byRoute["tenant.get"] ?? 0) >= 2 ? true : undefined),
      "both polls to reach the simulator",
    );
    const started = performance.now();
    const code = await stopRun(run, "SIGTERM", 20_000);
    const seconds = (performance.now() - started) / 1000;
    expect(code).toBe(0);
    expect(seconds).toBeLessThan(10);
    expect(s.stats().revokeRequests).toBe(1);
    const state = JSON.parse(await readFile(stateFile, "utf8")) as {
      jobs: { restoreId: string; status: string | null }[];
    };
    expect(state.jobs.map((j) => [j.restoreId, j.status])).toEqual([
      [HUNG, null],
      [FINE, "RUNNING"],
    ]);
    // What was saved was logged, once.
    expect(
      run.lines.filter((l) => l.event === "restore_transition").map((l) => l.restoreId),
    ).toEqual([FINE]);
    expect(run.lines.at(-1)).toMatchObject({ event: "daemon_stopped" });
  }, 60_000);
});
