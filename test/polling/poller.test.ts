import { describe, expect, it } from "vitest";
import { AtlasHttpError } from "../../src/atlas/errors.js";
import type { ApiFamily, JobRef, RestoreJob } from "../../src/atlas/model.js";
import { createLogger } from "../../src/logger.js";
import { createMetrics } from "../../src/http/metrics.js";
import { PollDeferredError } from "../../src/polling/pacer.js";
import { LAST_SUCCESS_SAVE_MS, MAX_PENDING_EVENTS, Poller } from "../../src/polling/poller.js";
import type { FetchJob } from "../../src/polling/resilience.js";
import type { LoadResult, StateStore } from "../../src/state/store.js";
import {
  snapshotOf,
  type JobSnapshot,
  type JobState,
  type TrackedJob,
} from "../../src/tracker/job-state.js";
import { waitFor } from "../support/fixtures.js";

const GROUP = "32b6e34b3d91647abb20e7b8";
const ref = (n: number): JobRef => ({
  groupId: GROUP,
  clusterName: "Cluster0",
  restoreId: `6a793f81d2c4a03c${n.toString(16).padStart(8, "0")}`,
});

/** A store that records saves, in the same journal as the log lines. */
class MemoryStore implements StateStore {
  /** What each save wrote (the tracked jobs change in place: their snapshots). */
  saved: JobSnapshot[][] = [];
  constructor(
    private readonly journal: string[],
    private readonly initial: LoadResult = { kind: "absent" },
  ) {}
  async load() {
    return this.initial;
  }
  /** Like the file store: "save" once the new state is durable, "commit" at its rename. */
  save(jobs: readonly TrackedJob[], _now: number, _extras?: unknown, beforeCommit?: () => void) {
    this.journal.push("save");
    this.saved.push(jobs.map(snapshotOf));
    beforeCommit?.();
    this.journal.push("commit");
  }
  syncDirectory() {
    this.journal.push("sync");
  }
}

function setup(
  fetchJob: FetchJob,
  jobs: JobRef[],
  initial?: LoadResult,
  concurrency = 2,
  mode: "auto" | "tenant" = "tenant",
  now = () => Date.parse("2026-11-29T10:00:00Z"),
) {
  const journal: string[] = [];
  const lines: Record<string, unknown>[] = [];
  // Like stdout's hold: lines written while held reach the output only when the hold ends.
  let held: string[] | undefined;
  const logger = createLogger("debug", {
    write: (line: string) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      lines.push(parsed);
      (held ?? journal).push(String(parsed.event));
    },
  });
  const store = new MemoryStore(journal, initial);
  // Scraped only after the poller exists.
  const metrics = createMetrics({ jobs: () => poller.jobs(), now: () => 0, retentionMs: 1 }, "0");
  const poller: Poller = new Poller({
    fetchJob,
    listJobs: async () => {
      throw new Error("no cluster is watched here");
    },
    retentionMs: 3_600_000,
    jobs,
    mode,
    // In auto mode the tenant endpoint is still current: only Atlas's answers move a job.
    tenantSunset: Date.parse("2099-01-01T00:00:00Z"),
    concurrency,
    store,
    logger,
    metrics,
    now,
    holdLines: (fn) => {
      journal.push("hold");
      held = [];
      try {
        return fn(() => {
          journal.push(...(held ?? []));
          held = [];
        });
      } finally {
        journal.push(...held, "release");
        held = undefined;
      }
    },
  });
  return { poller, store, journal, lines, metrics };
}

const job = (r: JobRef, status = "RUNNING"): RestoreJob => ({
  id: r.restoreId,
  status: status as RestoreJob["status"],
  rawStatus: status,
});

describe("Poller", () => {
  it("polls at most `concurrency` jobs at once, each once per cycle", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const polled: string[] = [];
    const fetchJob: FetchJob = async (_api: ApiFamily, r) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      polled.push(r.restoreId);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
      return job(r);
    };
    const refs = Array.from({ length: 9 }, (_, i) => ref(i));
    const { poller } = setup(fetchJob, refs, undefined, 3);
    const result = await poller.pollOnce();
    expect(maxInFlight).toBe(3);
    expect(polled.sort()).toEqual(refs.map((r) => r.restoreId).sort());
    expect(result).toEqual({
      polled: 9,
      succeeded: 9,
      failed: 0,
      deferred: 0,
      skipped: 0,
      events: 9,
    });
  });

  it("idle() resolves once no target is in flight, those started meanwhile included", async () => {
    // Each poll waits until the test answers it, by restore id, in the order they were asked.
    const asked: { id: string; answer: () => void }[] = [];
    const fetchJob: FetchJob = (_api: ApiFamily, r) =>
      new Promise((resolve) => asked.push({ id: r.restoreId, answer: () => resolve(job(r)) }));
    const answer = (index: number): void => asked[index]!.answer();
    const { poller } = setup(fetchJob, [ref(1), ref(2)], undefined, 2);
    await poller.idle();
    await poller.restore();
    const first = poller.pollOnce();
    await waitFor(() => asked.length === 2, "both jobs polled");
    let idle = false;
    const done = poller.idle().then(() => (idle = true));
    answer(0);
    // The first job answered; a second cycle polls it again while the second is still in flight.
    const answered = (r: JobRef): boolean =>
      poller.jobs().some((j) => j.state.restoreId === r.restoreId && j.lastSuccessAt !== undefined);
    await waitFor(() => answered(ref(1)), "the first answer applied");
    const second = poller.pollOnce();
    await waitFor(() => asked.length === 3, "the first job polled again");
    expect(asked.map((a) => a.id)).toEqual([ref(1).restoreId, ref(2).restoreId, ref(1).restoreId]);
    answer(1);
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(idle).toBe(false);
    answer(2);
    await second;
    await done;
    expect(idle).toBe(true);
  });

  it("writes the answers' lines as one batch between the durable save and its commit", async () => {
    const { poller, journal } = setup(async (_api, r) => job(r), [ref(1), ref(2)]);
    await poller.pollOnce();
    // A kill before the lines leaves the old state (the restart logs them); during the commit
    // (a rename, which can take milliseconds) they are already out.
    expect(journal).toEqual([
      "hold",
      "save",
      "restore_transition",
      "restore_transition",
      "commit",
      "release",
      "sync",
    ]);
  });

  it("saves and logs at once the change that makes MAX_PENDING_EVENTS waiting", async () => {
    // Every answer lands in one burst, with no timer between them: only the bound can split it.
    let open = (): void => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const count = MAX_PENDING_EVENTS + MAX_PENDING_EVENTS / 2;
    const refs = Array.from({ length: count }, (_, i) => ref(i));
    let asked = 0;
    const fetchJob: FetchJob = async (_api, r) => {
      asked++;
      await gate;
      return job(r);
    };
    const { poller, journal } = setup(fetchJob, refs, undefined, count);
    const cycle = poller.pollOnce();
    await waitFor(() => asked === count, "every job asked");
    open();
    await cycle;
    // The lines written under each hold, save by save.
    const batches: number[] = [];
    for (const entry of journal) {
      if (entry === "hold") batches.push(0);
      if (entry === "restore_transition") batches[batches.length - 1]! += 1;
    }
    expect(batches).toEqual([MAX_PENDING_EVENTS, MAX_PENDING_EVENTS / 2]);
  });

  it("saves durably, logs, then commits, when nothing holds the lines back", async () => {
    const journal: string[] = [];
    const logger = createLogger("debug", {
      write: (line: string) => journal.push(String((JSON.parse(line) as { event: string }).event)),
    });
    const poller: Poller = new Poller({
      fetchJob: async (_api, r) => job(r),
      listJobs: async () => {
        throw new Error("no cluster is watched here");
      },
      retentionMs: 3_600_000,
      jobs: [ref(1)],
      mode: "tenant",
      tenantSunset: 0,
      concurrency: 1,
      store: new MemoryStore(journal),
      logger,
      metrics: createMetrics({ jobs: () => [], now: () => 0, retentionMs: 1 }, "0"),
      now: () => 0,
    });
    await poller.pollOnce();
    expect(journal).toEqual(["save", "restore_transition", "commit", "sync"]);
  });

  it("saves a change at once, and a cycle that only confirmed the state after LAST_SUCCESS_SAVE_MS", async () => {
    let now = Date.parse("2026-11-29T10:00:00Z");
    let status = "RUNNING";
    const { poller, store } = setup(
      async (_api, r) => job(r, status),
      [ref(1)],
      undefined,
      2,
      "tenant",
      () => now,
    );
    const saved = () => store.saved.map((jobs) => [jobs[0]?.status, jobs[0]?.lastSuccessAt]);
    await poller.pollOnce();
    expect(saved()).toEqual([["RUNNING", now]]);
    const first = now;
    const [tracked] = poller.jobs();
    const state = tracked?.state;
    now += 30_000;
    await poller.pollOnce();
    expect(saved()).toEqual([["RUNNING", first]]);
    // The poll only confirmed the job: the same state, its last success moved beside it.
    expect(poller.jobs()).toEqual([{ state, lastSuccessAt: now }]);
    expect(poller.jobs()[0]?.state).toBe(state);
    now = first + LAST_SUCCESS_SAVE_MS;
    await poller.pollOnce();
    expect(saved()).toEqual([
      ["RUNNING", first],
      ["RUNNING", now],
    ]);
    now += 1_000;
    status = "COMPLETED";
    await poller.pollOnce();
    expect(saved().at(-1)).toEqual(["COMPLETED", now]);
    expect(saved()).toHaveLength(3);
  });

  it("keeps going when one job fails, and counts what happened", async () => {
    const failing = ref(1);
    const fetchJob: FetchJob = async (_api, r) => {
      if (r.restoreId === failing.restoreId) {
        throw new AtlasHttpError(
          { status: 404, errorCode: "RESOURCE_NOT_FOUND" },
          { operation: "get", target: "/x" },
        );
      }
      return job(r);
    };
    const { poller, lines } = setup(fetchJob, [failing, ref(2), ref(3)]);
    expect(await poller.pollOnce()).toMatchObject({ polled: 3, succeeded: 2, failed: 1 });
    expect(lines.filter((l) => l.event === "restore_transition")).toHaveLength(2);
    expect(lines.filter((l) => l.event === "restore_poll_error")).toMatchObject([
      { restoreId: failing.restoreId, status: 404, errorCode: "RESOURCE_NOT_FOUND" },
    ]);
  });

  it("leaves a deferred job as it was and counts it", async () => {
    const fetchJob: FetchJob = async () => {
      throw new PollDeferredError("tenant/x", 0, "retry_after");
    };
    const { poller, store, metrics } = setup(fetchJob, [ref(1)]);
    expect(await poller.pollOnce()).toMatchObject({ polled: 0, deferred: 1, events: 0 });
    // Nothing changed, so nothing was saved.
    expect(store.saved).toEqual([]);
    expect([...poller.jobs()].map((j) => j.state.status)).toEqual([null]);
    expect(await metrics.registry.metrics()).toContain(
      'atlas_restore_polls_deferred_total{api="tenant",reason="retry_after"} 1',
    );
  });

  it("keeps a switch to Flex even when the Flex poll is then deferred", async () => {
    const calls: string[] = [];
    const fetchJob: FetchJob = async (api) => {
      calls.push(api);
      if (api === "tenant") {
        throw new AtlasHttpError(
          { status: 410, errorCode: "VERSION_GONE" },
          { operation: "get", target: "/x" },
        );
      }
      throw new PollDeferredError("flex/x", 0, "retry_after");
    };
    const saved: JobState = { ...ref(1), api: "tenant", status: "RUNNING" };
    const { poller, lines, store } = setup(
      fetchJob,
      [ref(1)],
      { kind: "loaded", jobs: [{ state: saved, lastSuccessAt: undefined }] },
      2,
      "auto",
    );
    await poller.restore();
    await poller.pollOnce();
    expect(calls).toEqual(["tenant", "flex"]);
    expect(lines.filter((l) => l.event === "restore_api_switched")).toMatchObject([
      { from: "tenant", to: "flex", reason: "version_gone" },
    ]);
    expect(store.saved.at(-1)?.[0]).toMatchObject({
      api: "flex",
      status: "RUNNING",
      switchedToFlex: { reason: "version_gone" },
    });
  });

  it("does not poll a finished job again", async () => {
    const polled: string[] = [];
    const { poller } = setup(
      async (_api, r) => {
        polled.push(r.restoreId);
        return job(r, "COMPLETED");
      },
      [ref(1)],
    );
    await poller.pollOnce();
    await poller.pollOnce();
    expect(polled).toHaveLength(1);
  });

  it("restores every saved job; one no longer configured is remembered, not polled or exported", async () => {
    const saved: JobState = { ...ref(1), api: "tenant", status: "RUNNING", lastTransitionAt: 1 };
    const gone: JobState = { ...ref(9), api: "tenant", status: "RUNNING" };
    const { poller, lines } = setup(async (_api, r) => job(r), [ref(1), ref(2)], {
      kind: "loaded",
      jobs: [saved, gone].map((state) => ({ state, lastSuccessAt: undefined })),
    });
    await poller.restore();
    expect([...poller.jobs()].map((j) => [j.state.restoreId, j.state.status])).toEqual([
      [ref(1).restoreId, "RUNNING"],
      [ref(2).restoreId, null],
    ]);
    expect([...poller.allJobs()].map((j) => j.state.restoreId)).toContain(ref(9).restoreId);
    expect(lines.find((l) => l.event === "state_loaded")).toMatchObject({ jobs: 2 });
    await poller.pollOnce();
    // The saved job was RUNNING and still is: only the new one is logged.
    expect(lines.filter((l) => l.event === "restore_transition").map((l) => l.restoreId)).toEqual([
      ref(2).restoreId,
    ]);
  });

  it("warns when the saved state had to be moved aside", async () => {
    const { poller, lines } = setup(async (_api, r) => job(r), [ref(1)], {
      kind: "moved_aside",
      problem: "is not valid JSON",
      movedTo: "/data/state.json.corrupt-1",
    });
    await poller.restore();
    expect(lines).toMatchObject([
      {
        level: 40,
        event: "state_moved_aside",
        problem: "is not valid JSON",
        movedTo: "/data/state.json.corrupt-1",
      },
    ]);
  });
});

describe("Poller: watched clusters", () => {
  const NOW = Date.parse("2026-11-29T10:00:00Z");
  const listed = (...refs: JobRef[]): RestoreJob[] => refs.map((r) => job(r));

  function watching(
    list: (wantMore: (page: readonly RestoreJob[]) => boolean) => RestoreJob[][],
    fetchJob: FetchJob,
    configured: JobRef[] = [],
    now = () => NOW,
    initial?: LoadResult,
  ) {
    const journal: string[] = [];
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger("debug", {
      write: (line: string) => {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        lines.push(parsed);
      },
    });
    const store = new MemoryStore(journal, initial);
    const metrics = createMetrics({ jobs: () => poller.jobs(), now, retentionMs: 1 }, "0");
    const lists: number[] = [];
    const poller: Poller = new Poller({
      fetchJob,
      listJobs: async (_groupId, _name, wantMore) => {
        const pages = list(wantMore);
        lists.push(pages.length);
        return { jobs: pages.flat(), pages: pages.length, complete: true };
      },
      retentionMs: 3_600_000,
      jobs: configured,
      mode: "flex",
      tenantSunset: 0,
      concurrency: 2,
      store,
      logger,
      metrics,
      now,
    });
    poller.setClusters([{ groupId: GROUP, clusterName: "Cluster0" }]);
    return { poller, lines, lists, store };
  }

  it("reads another page only while the last held a job never seen", async () => {
    const pages = [listed(ref(1), ref(2)), listed(ref(3))];
    const asked: boolean[] = [];
    const { poller } = watching(
      (wantMore) => {
        const read = [pages[0] ?? []];
        const more = wantMore(read[0] ?? []);
        asked.push(more);
        if (more) read.push(pages[1] ?? []);
        return read;
      },
      async () => {
        throw new Error("no GET expected");
      },
    );
    await poller.pollOnce();
    await poller.pollOnce();
    // First listing: every job is new, so the next page is read; then all are seen.
    expect(asked).toEqual([true, false]);
  });

  it("GETs an unfinished job that fell off the pages read, and counts a configured job on a watched cluster once", async () => {
    let onPages = listed(ref(1), ref(2));
    const fetched: string[] = [];
    const { poller, lines } = watching(
      () => [onPages],
      async (_api, r) => {
        fetched.push(r.restoreId);
        return job(r, "COMPLETED");
      },
      [ref(2)],
    );
    await poller.pollOnce();
    expect(fetched).toEqual([]);
    onPages = listed(ref(1));
    await poller.pollOnce(); // the LIST no longer shows job 2: next cycle GETs it
    await poller.pollOnce();
    expect(fetched).toEqual([ref(2).restoreId]);
    expect(
      lines.filter((l) => l.event === "restore_transition").map((l) => [l.restoreId, l.to]),
    ).toEqual([
      [ref(1).restoreId, "RUNNING"],
      [ref(2).restoreId, "RUNNING"],
      [ref(2).restoreId, "COMPLETED"],
    ]);
  });

  it("keeps a job of a cluster no longer watched for the retention, unexported, then forgets it", async () => {
    let now = NOW;
    const { poller, store } = watching(
      () => [listed(ref(1))],
      async () => {
        throw new Error("no GET expected");
      },
      [],
      () => now,
    );
    await poller.pollOnce();
    poller.setClusters([]);
    await poller.pollOnce();
    expect([...poller.jobs()]).toEqual([]);
    expect([...poller.allJobs()].map((j) => j.state.restoreId)).toEqual([ref(1).restoreId]);
    now += 3_600_001;
    await poller.pollOnce();
    expect([...poller.allJobs()]).toEqual([]);
    expect(store.saved.at(-1)).toEqual([]);
  });

  it("does not forget a saved job at start, however old, before it has been unwatched for the retention", async () => {
    const old: TrackedJob = {
      state: { ...ref(5), api: "flex", status: "RUNNING" },
      lastSuccessAt: 0,
    };
    const { poller } = watching(
      () => [],
      async () => {
        throw new Error("no GET expected");
      },
      [],
      () => NOW,
      { kind: "loaded", jobs: [old] },
    );
    await poller.restore();
    // Discovery found nothing yet (it failed, say): the job is unwatched, not forgotten.
    poller.setClusters([]);
    await poller.pollOnce();
    expect([...poller.allJobs()].map((j) => j.state.restoreId)).toContain(ref(5).restoreId);
  });
});
