/**
 * Crash safety: the built daemon is killed with SIGKILL 20 times at random moments (during
 * start-up, right after a random request of a cycle, inside a state save, or anywhere in the
 * first 1.5 s) and
 * restarted on the same state file. Over all runs, the transition lines must be exactly the ones
 * the simulator's scripts imply: none missing, and none repeated but under the same `eventId`. That
 * holds because a change's state is made durable before its line is written and committed after,
 * and the restarted daemon polls from the saved state on.
 *
 * Replay a failure with the seed it prints: CRASH_LOOP_SEED=<seed> npx vitest run test/reliability
 *
 * Kills 1, 6, 11 and 16 land 0 to 12 ms after a state save begins: through the temporary file's
 * fsync, the one write of the lines and the rename that commits the state. The instant between
 * that write and that rename cannot be made crash safe (the lines are out, the state is not
 * committed), and on a loaded machine these kills hit it: the restart then derives the same
 * changes from the same saved state and logs them again, under the same `eventId`. So a repeat is
 * allowed only as that: the same `eventId`, at the end of a killed run's output.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ScenarioInput, Simulator } from "../../src/simulator/index.js";
import { writeConfig, type LogLine } from "../support/daemon-process.js";
import { API_KEY, GROUP, SERVICE_ACCOUNT, id, startSim, waitFor } from "../support/fixtures.js";
import { killAll, startDaemonRun, stopRun, type DaemonRun } from "./daemon-run.js";
import { watchSaves } from "./save-watch.js";
import { seedFrom, seededRandom } from "./seeded-random.js";

const KILLS = 20;
const JOBS = 40;
/**
 * Simulator seconds between script steps. A whole simulator minute, because the simulator grants
 * a service account at most 10 tokens per simulator minute and every restart asks for one.
 */
const STEP = 60;
/** Cohort c moves one step later than cohort c-1, so the timeline has more steps to kill in. */
const COHORTS = 4;
/** The clock moves from step k to k+1 only from kill number RUNS_PER_STEP*k on: spread over all kills. */
const RUNS_PER_STEP = 3;

interface PlannedJob {
  readonly restoreId: string;
  readonly api: "tenant" | "flex";
  readonly clusterName: string;
  /** [simulator second, status], the scenario's script. */
  readonly script: readonly (readonly [number, string])[];
}

const plan: PlannedJob[] = Array.from({ length: JOBS }, (_, i) => {
  const cohort = i % COHORTS;
  const flex = i % 5 >= 3; // 16 flex jobs, 24 tenant jobs
  const final = i % 7 === 0 ? "FAILED" : "COMPLETED";
  return {
    restoreId: id(0x100 + i),
    api: flex ? "flex" : "tenant",
    clusterName: flex ? "Flex0" : i % 2 === 0 ? "Cluster0" : "Cluster1",
    script: [
      [0, "PENDING"],
      [STEP * (cohort + 1), "QUEUED"],
      [STEP * (cohort + 2), "RUNNING"],
      [STEP * (cohort + 3), final],
    ],
  };
});

/** Every distinct script time, in order: the clock visits exactly these. */
const STEP_TIMES = [...new Set(plan.flatMap((job) => job.script.map(([t]) => t)))].sort(
  (a, b) => a - b,
);

/** What the scripts imply: one line per status change of every job, and nothing else. */
const EXPECTED = plan
  .flatMap((job) =>
    job.script.map(([, status], k) =>
      key(job.restoreId, k === 0 ? null : job.script[k - 1]![1], status),
    ),
  )
  .sort();

function key(restoreId: string, from: unknown, to: unknown): string {
  return `${restoreId} ${String(from)}→${String(to)}`;
}

/** The status job `job` shows at simulator second `t`. */
function statusAt(job: PlannedJob, t: number): string {
  return job.script.filter(([at]) => at <= t).at(-1)?.[1] ?? job.script[0]![1];
}

const isTransition = (line: LogLine) => line.event === "restore_transition";

let sim: Simulator;
let dir: string;
let stateFile: string;
let configFile: string;
const runs: DaemonRun[] = [];

beforeAll(async () => {
  const jobs: NonNullable<ScenarioInput["jobs"]> = plan.map((job) => ({
    groupId: GROUP,
    clusterName: job.clusterName,
    id: job.restoreId,
    script: job.script.map(([afterSeconds, status]) => ({ afterSeconds, status })),
  }));
  sim = await startSim({
    tokenTtlSeconds: 24 * 3600,
    clusters: [
      { groupId: GROUP, name: "Cluster0", kind: "tenant" },
      { groupId: GROUP, name: "Cluster1", kind: "tenant" },
      { groupId: GROUP, name: "Flex0", kind: "flex" },
    ],
    jobs,
    // Each answer waits 40 ms: a cycle of 40 jobs at concurrency 4 lasts about 400 ms, long
    // enough for random kills to land inside it.
    faults: [{ kind: "slow_headers", delayMs: 40 }],
  });
  dir = await mkdtemp(join(tmpdir(), "restore-watch-crash-"));
  stateFile = join(dir, "state.json");
  const written = await writeConfig(
    {
      schedule: "* * * * * *",
      api: "tenant",
      listen: "127.0.0.1:0",
      baseUrl: sim.url,
      concurrency: 4,
      stateFile,
      jobs: plan.map((job) => ({
        groupId: GROUP,
        clusterName: job.clusterName,
        restoreId: job.restoreId,
        ...(job.api === "flex" ? { api: "flex" } : {}),
      })),
    },
    dir,
  );
  configFile = written.file;
});

afterAll(async () => {
  await killAll(runs);
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs 0, 3, 4, 7, 8, … use the API key, runs 1, 2, 5, 6, … the service account. */
const authOf = (n: number) => (Math.floor((n + 1) / 2) % 2 === 0 ? "apiKey" : "serviceAccount");

function start(n: number): DaemonRun {
  const env: Record<string, string> =
    authOf(n) === "apiKey"
      ? {
          MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
          MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey,
        }
      : {
          MONGODB_ATLAS_CLIENT_ID: SERVICE_ACCOUNT.clientId,
          MONGODB_ATLAS_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret,
        };
  const run = startDaemonRun(["--config", configFile], env);
  runs.push(run);
  return run;
}

/** Each run's transition lines, and for each whether a later run logged its eventId again. */
function repeatsByRun(): { lines: LogLine[]; repeated: boolean[] }[] {
  const perRun = runs.map((run) => run.lines.filter(isTransition));
  return perRun.map((lines, n) => {
    const later = new Set(perRun.slice(n + 1).flatMap((l) => l.map((line) => line.eventId)));
    return { lines, repeated: lines.map((line) => later.has(line.eventId)) };
  });
}

/** Every transition line of every run so far. */
function allTransitions(): LogLine[] {
  return runs.flatMap((run) => run.lines.filter(isTransition));
}

/** The jobs whose current scripted status has not been logged yet, by restoreId. */
function unseen(t: number): string[] {
  const seen = new Set(allTransitions().map((l) => `${String(l.restoreId)} ${String(l.to)}`));
  return plan
    .filter((job) => !seen.has(`${job.restoreId} ${statusAt(job, t)}`))
    .map((job) => `${job.restoreId}:${statusAt(job, t)}`);
}

/** The jobs of the state file, as committed; none before the first save. */
async function savedJobs(): Promise<{ restoreId: string; status: string | null }[]> {
  let text: string;
  try {
    text = await readFile(stateFile, "utf8");
  } catch {
    return []; // nothing saved yet
  }
  return (JSON.parse(text) as { jobs: { restoreId: string; status: string | null }[] }).jobs;
}

/** Statuses the state file holds that no transition line announced, as `restoreId:status`. */
async function savedButUnlogged(): Promise<string[]> {
  const saved = await savedJobs();
  const logged = new Set(allTransitions().map((l) => `${String(l.restoreId)}:${String(l.to)}`));
  return saved
    .filter((job) => job.status !== null && !logged.has(`${job.restoreId}:${job.status}`))
    .map((job) => `${job.restoreId}:${String(job.status)}`);
}

/**
 * The jobs whose current scripted status the state file does not hold yet, by restoreId: logged
 * but not committed when a kill landed between the two, a restart logs them again.
 */
async function uncommitted(t: number): Promise<string[]> {
  const saved = new Map((await savedJobs()).map((job) => [job.restoreId, job.status]));
  return plan
    .filter((job) => saved.get(job.restoreId) !== statusAt(job, t))
    .map((job) => `${job.restoreId}:${statusAt(job, t)}`);
}

/** Requests the simulator received and has not answered yet. */
function inFlight(): number {
  const stats = sim.stats();
  const answered = Object.values(stats.byStatus).reduce((sum, n) => sum + n, 0);
  return stats.requests - answered;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `check` holds, looking every 2 ms (a round of requests lasts 40 ms), at most 15 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after 15000 ms waiting for ${what}`);
    await sleep(2);
  }
}

const isFinal = (status: string) => status === "COMPLETED" || status === "FAILED";

interface Kill {
  readonly run: number;
  readonly auth: string;
  readonly moment: string;
  readonly delayMs: number;
  readonly simSecond: number;
  readonly inFlight: number;
  /** Requests the daemon sent during the last 100 ms before the kill. */
  readonly sent: number;
  readonly transitions: number;
}

describe("SIGKILL at random moments, then restart", () => {
  it(`logs every scripted transition once, by eventId, over ${KILLS} kills`, async () => {
    const seed = seedFrom(process.env, "CRASH_LOOP_SEED");
    const random = seededRandom(seed);
    const kills: Kill[] = [];
    let step = 0;
    const t0 = sim.now();
    const simSecond = () => Math.round((sim.now() - t0) / 1000);
    try {
      for (let n = 0; n < KILLS; n++) {
        const baseline = inFlight();
        const requestsBefore = sim.stats().requests;
        const kind = n % 5;
        // Watched from before the start, so that the first save is not missed.
        const saves = kind === 1 ? watchSaves(stateFile) : undefined;
        const saving = saves?.nextSave(15_000);
        saving?.catch(() => undefined); // a failure to see a save surfaces where it is awaited
        const run = start(n);
        // Requests seen over time, to tell afterwards whether the kill landed mid-cycle.
        const seen: [number, number][] = [];
        const sampler = setInterval(() => seen.push([Date.now(), sim.stats().requests]), 5);
        let moment: string;
        let delayMs: number;
        let pending: number;
        let sent: number;
        try {
          const due = plan.filter((job) => !isFinal(statusAt(job, simSecond()))).length;
          if (kind === 3) {
            // During start-up: before or while the state is loaded, or in the first requests.
            moment = "after spawn";
            delayMs = Math.floor(random() * 600);
          } else if (saving !== undefined) {
            // During a save: from the temporary file's creation through its fsync, the rename,
            // the directory's fsync and the logging of the cycle's events.
            moment = "during a save";
            delayMs = Math.floor(random() * 12);
            await saving;
          } else if ((kind === 0 || kind === 4) && due > 0) {
            // Right after the daemon's k-th request: in the first cycle or in the next one.
            const k = 1 + Math.floor(random() * (2 * due + 2));
            moment = `after request ${k}`;
            delayMs = Math.floor(random() * 30);
            await until(
              () => sim.stats().requests - requestsBefore >= k,
              `request ${k} of run ${n}`,
            );
          } else {
            // Anywhere in the first 1.5 s after start: first cycle, the gap, the next cycle.
            moment = "after daemon_started";
            delayMs = Math.floor(random() * 1500);
            await run.waitForLine((l) => l.event === "daemon_started", `daemon_started (run ${n})`);
          }
          await sleep(delayMs);
        } finally {
          saves?.close();
          clearInterval(sampler);
          const killedAt = Date.now();
          pending = inFlight() - baseline;
          const earlier = seen.filter(([at]) => at <= killedAt - 100).at(-1)?.[1] ?? requestsBefore;
          sent = sim.stats().requests - earlier;
        }
        const signal = await stopRun(run, "SIGKILL");
        const transitions = run.lines.filter(isTransition).length;
        kills.push({
          run: n,
          auth: authOf(n),
          moment,
          delayMs,
          simSecond: simSecond(),
          inFlight: pending,
          sent,
          transitions,
        });
        // The process died by our SIGKILL, not on its own, and printed nothing else anywhere.
        expect(signal, `run ${n}: ${run.stderr()}`).toBe("SIGKILL");
        expect(run.garbage).toEqual([]);
        expect(run.stderr()).toBe("");
        // Whatever the state file says was observed must already be in the log: a restart polls
        // only from the saved state on, so a saved but unlogged change would never be logged.
        expect(
          await savedButUnlogged(),
          `run ${n}, killed ${moment} + ${delayMs} ms; its events: ${run.lines.map((l) => String(l.event)).join(" ")}`,
        ).toEqual([]);
        // Move the clock one step once every job's current status is in the log and committed,
        // so that every status is observed and the expected lines are well defined (a restart
        // derives a change logged but not committed again, from the same state, as long as
        // Atlas still shows it).
        if (
          step < STEP_TIMES.length - 1 &&
          n >= RUNS_PER_STEP * step &&
          unseen(simSecond()).length === 0 &&
          (await uncommitted(simSecond())).length === 0
        ) {
          step++;
          sim.advance(STEP_TIMES[step]! - simSecond());
        }
      }

      // One last run, kept alive until every job's final status is logged, then stopped cleanly.
      const last = start(KILLS);
      // Signal handlers exist only once the daemon runs; SIGTERM earlier would simply kill it.
      await last.waitForLine((l) => l.event === "daemon_started", "daemon_started (last run)");
      for (;;) {
        await waitFor(
          async () =>
            unseen(simSecond()).length === 0 && (await uncommitted(simSecond())).length === 0
              ? true
              : undefined,
          () =>
            `every job's status at t=${simSecond()} s to be logged and saved; ` +
            `missing ${unseen(simSecond()).join(", ")}`,
          20_000,
        );
        if (step === STEP_TIMES.length - 1) break;
        step++;
        sim.advance(STEP_TIMES[step]! - simSecond());
      }
      expect(await stopRun(last, "SIGTERM")).toBe(0);
      expect(last.garbage).toEqual([]);
      expect(last.stderr()).toBe("");

      // The core property: one line per change over all runs, counted by eventId, is exactly the
      // expected set (a change logged under two ids would appear twice in the sorted list, a
      // lost one not at all), and every line of one id tells the same change.
      const lines = allTransitions();
      const byId = new Map<string, LogLine[]>();
      for (const line of lines) {
        expect(line.eventId).toMatch(/^[0-9a-f]{16}$/);
        const same = byId.get(String(line.eventId)) ?? [];
        byId.set(String(line.eventId), [...same, line]);
      }
      const keyOf = (l: LogLine) => key(String(l.restoreId), l.from, l.to);
      for (const same of byId.values()) expect(new Set(same.map(keyOf)).size).toBe(1);
      expect([...byId.values()].map((same) => keyOf(same[0]!)).sort()).toEqual(EXPECTED);
      // A repeat comes only from a kill between a batch's write and its commit: the repeated
      // lines are the end of a killed run's output, and one run never logs an id twice.
      const repeated = repeatsByRun();
      for (const [n, { lines: theirs, repeated: flags }] of repeated.entries()) {
        const first = flags.indexOf(true);
        expect(
          first === -1 || (n < KILLS && flags.slice(first).every(Boolean)),
          `run ${n} (${JSON.stringify(kills[n])}): repeated lines not at the end of its output: ` +
            theirs.map((l, i) => `${keyOf(l)}${flags[i] ? " (repeated)" : ""}`).join(", "),
        ).toBe(true);
        expect(new Set(theirs.map((l) => l.eventId)).size).toBe(theirs.length);
      }
      for (const line of lines) {
        const job = plan.find((j) => j.restoreId === line.restoreId)!;
        expect(line).toMatchObject({
          level: line.to === "FAILED" ? 50 : 30,
          api: job.api,
          clusterName: job.clusterName,
          groupId: GROUP,
        });
      }
      // Never a torn state file: an atomic save leaves nothing to move aside.
      const events = runs.flatMap((run) => run.lines.map((l) => l.event));
      expect(events).not.toContain("state_moved_aside");
      expect(events).not.toContain("poll_internal_error");
      const state = JSON.parse(await readFile(stateFile, "utf8")) as {
        jobs: { restoreId: string; status: string }[];
      };
      expect(Object.fromEntries(state.jobs.map((j) => [j.restoreId, j.status]))).toEqual(
        Object.fromEntries(plan.map((j) => [j.restoreId, j.script.at(-1)![1]])),
      );

      // The kills did hit where it matters: while requests were moving (mid-cycle), at several
      // points of the timeline, with both kinds of credentials.
      const midCycle = kills.filter((k) => k.inFlight > 0 || k.sent > 0);
      expect(kills).toHaveLength(KILLS);
      expect(midCycle.length, JSON.stringify(kills)).toBeGreaterThanOrEqual(5);
      expect(new Set(midCycle.map((k) => k.simSecond)).size).toBeGreaterThanOrEqual(2);
      expect(new Set(midCycle.map((k) => k.auth))).toEqual(new Set(["apiKey", "serviceAccount"]));
      expect(sim.stats().tokenRequests).toBeGreaterThan(0);
    } catch (error) {
      if (error instanceof Error) {
        error.message =
          `crash loop failed with CRASH_LOOP_SEED=${seed} (kills: ${JSON.stringify(kills)}): ` +
          error.message;
      }
      throw error;
    }
  }, 120_000);
});
