import { readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AtlasHttpError } from "../../src/atlas/errors.js";
import { FileStateStore, STATE_VERSION } from "../../src/state/store.js";
import {
  MAX_STATE_TEXT,
  trackedOf,
  type JobSnapshot,
  type JobState,
  type TrackedJob,
} from "../../src/tracker/job-state.js";
import { initialState, observeError, observeJob } from "../../src/tracker/tracker.js";

/** A job as the file holds it: its state and, beside the state's fields, its last success. */
const entry: JobSnapshot = {
  groupId: "32b6e34b3d91647abb20e7b8",
  clusterName: "Cluster0",
  restoreId: "6a793f81d2c4a03c5e4b1f20",
  api: "flex",
  status: "RUNNING",
  info: { deliveryType: "RESTORE", scheduledAt: 1_764_400_000_000 },
  lastTransitionAt: 1_764_400_001_000,
  lastSuccessAt: 1_764_400_002_000,
  errorKind: "timeout_headers",
  switchedToFlex: { at: 1_764_400_000_500, reason: "version_gone" },
};

const job = trackedOf(entry);

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "restore-watch-store-"));
}

describe("FileStateStore", () => {
  it("reports an absent file", async () => {
    const store = new FileStateStore(join(await tempDir(), "state.json"));
    expect(await store.load()).toEqual({ kind: "absent" });
  });

  it("round-trips the state, creating the directory, leaving no temporary file", async () => {
    const dir = await tempDir();
    const store = new FileStateStore(join(dir, "nested", "state.json"));
    store.save([job], Date.parse("2026-11-29T10:00:00Z"));
    store.syncDirectory();
    expect(await store.load()).toEqual({ kind: "loaded", jobs: [job] });
    expect(await readdir(join(dir, "nested"))).toEqual(["state.json"]);
    const saved = JSON.parse(await readFile(join(dir, "nested", "state.json"), "utf8"));
    expect(saved.version).toBe(STATE_VERSION);
    expect(saved.savedAt).toBe("2026-11-29T10:00:00.000Z");
  });

  it("writes one job per line, and a job's new state once it changed", async () => {
    const path = join(await tempDir(), "state.json");
    const store = new FileStateStore(path);
    const other = trackedOf({ ...entry, restoreId: "6a793f81d2c4a03c5e4b1f21", status: "QUEUED" });
    store.save([job, other], Date.parse("2026-11-29T10:00:00Z"), { apiUp: true });
    const lines = (await readFile(path, "utf8")).trimEnd().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(
      '{"version":2,"savedAt":"2026-11-29T10:00:00.000Z","apiUp":true,"jobs":[',
    );
    // The last success is kept in the job's entry, beside the state's fields.
    expect(JSON.parse(lines[1]!.replace(/,$/, ""))).toEqual(entry);
    expect(lines[3]).toBe("]}");
    // The second save keeps `job` (the same object) and writes `other`'s new state.
    const moved: TrackedJob = {
      state: { ...other.state, status: "RUNNING", lastTransitionAt: 1_764_400_009_000 },
      lastSuccessAt: undefined,
    };
    store.save([job, moved], Date.parse("2026-11-29T10:00:05Z"));
    expect(await store.load()).toEqual({ kind: "loaded", jobs: [job, moved] });
    store.save([], Date.parse("2026-11-29T10:00:06Z"));
    expect(await store.load()).toEqual({ kind: "loaded", jobs: [] });
  });

  it("round-trips a cancelled dedicated job", async () => {
    const store = new FileStateStore(join(await tempDir(), "state.json"));
    const cancelled = trackedOf({
      groupId: entry.groupId,
      clusterName: "Prod0",
      restoreId: "6a793f81d2c4a03c5e4b1f21",
      api: "dedicated",
      status: "CANCELLED",
      info: { deliveryType: "download", scheduledAt: 1_786_331_009_000 },
      lastTransitionAt: 1_786_331_100_000,
      lastSuccessAt: 1_786_331_100_000,
      terminalSince: 1_786_331_100_000,
    });
    store.save([cancelled], Date.parse("2026-11-29T10:00:00Z"));
    expect(await store.load()).toEqual({ kind: "loaded", jobs: [cancelled] });
  });

  it.each([
    ["not JSON", "{not json", "is not valid JSON"],
    ["without a version", JSON.stringify({ savedAt: "x", jobs: [] }), "version"],
    ["not a list of jobs", JSON.stringify({ version: 2, jobs: {} }), "jobs"],
    ["empty", "", "is not valid JSON"],
  ])("moves aside a file that is %s and starts fresh", async (_name, content, problem) => {
    const dir = await tempDir();
    const path = join(dir, "state.json");
    await writeFile(path, content);
    const result = await new FileStateStore(path).load();
    expect(result.kind).toBe("moved_aside");
    if (result.kind !== "moved_aside") return;
    expect(result.problem).toContain(problem);
    expect(result.movedTo).toMatch(/state\.json\.corrupt-\d+$/);
    expect(await readFile(result.movedTo as string, "utf8")).toBe(content);
    expect(await new FileStateStore(path).load()).toEqual({ kind: "absent" });
  });

  it("keeps the old state when a save fails", async () => {
    const dir = await tempDir();
    const path = join(dir, "state.json");
    const store = new FileStateStore(path);
    store.save([job], 0);
    // A directory where the temporary file goes makes the write fail, even for root.
    await mkdir(join(dir, `.state.json.${process.pid}.tmp`));
    expect(() => store.save([trackedOf({ ...entry, status: "COMPLETED" })], 1)).toThrow(/EISDIR/);
    expect(await store.load()).toEqual({ kind: "loaded", jobs: [job] });
  });

  it("fails to save below a regular file", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "file"), "");
    expect(() => new FileStateStore(join(dir, "file", "state.json")).save([job], 0)).toThrow(
      /ENOTDIR|EEXIST/,
    );
  });

  it("removes temporary files that killed processes left behind, and nothing else", async () => {
    const dir = await tempDir();
    const path = join(dir, "state.json");
    await writeFile(join(dir, ".state.json.4242.tmp"), "half a state");
    await writeFile(join(dir, ".state.json.7.tmp"), "");
    await writeFile(join(dir, "notes.txt"), "keep");
    expect(await new FileStateStore(path).load()).toEqual({ kind: "absent" });
    expect((await readdir(dir)).sort()).toEqual(["notes.txt"]);
  });

  it("keeps a state whose error code and display fields Atlas sent 400 characters long", async () => {
    const path = join(await tempDir(), "state.json");
    const long = "X".repeat(400);
    const seen = observeJob(
      initialState(entry, "flex"),
      {
        id: entry.restoreId,
        status: "RUNNING",
        rawStatus: "RUNNING",
        deliveryType: long,
        targetDeploymentItemName: long,
      },
      1,
    ).state;
    const error = new AtlasHttpError(
      { status: 400, errorCode: long, detail: long },
      { operation: "get tenant restore job", target: "/x" },
    );
    const failed: JobState = observeError(seen, error).state;
    const store = new FileStateStore(path);
    store.save([{ state: failed, lastSuccessAt: 1 }], 2);
    const loaded = await new FileStateStore(path).load();
    expect(loaded).toEqual({ kind: "loaded", jobs: [{ state: failed, lastSuccessAt: 1 }] });
    expect(failed.errorKind).toHaveLength(MAX_STATE_TEXT);
    expect(failed.info?.targetDeploymentItemName).toHaveLength(MAX_STATE_TEXT);
    // The same error next cycle is the same kind: not reported again.
    expect(observeError(failed, error).events).toEqual([]);
  });

  it("drops an unusable job entry and keeps the others", async () => {
    const path = join(await tempDir(), "state.json");
    const other = { ...entry, restoreId: "6a793f81d2c4a03c5e4b1f21" };
    const bad = { ...entry, restoreId: "6a793f81d2c4a03c5e4b1f22", status: "DONE" };
    await writeFile(path, JSON.stringify({ version: 2, savedAt: "x", jobs: [other, bad, entry] }));
    expect(await new FileStateStore(path).load()).toEqual({
      kind: "loaded",
      jobs: [trackedOf(other), job],
      dropped: [{ index: 1, restoreId: bad.restoreId, problem: expect.stringContaining("status") }],
    });
  });

  it("cuts text longer than the bound in a file written before it existed", async () => {
    const path = join(await tempDir(), "state.json");
    const long = { ...entry, errorKind: "k".repeat(500) };
    await writeFile(path, JSON.stringify({ version: 1, savedAt: "x", jobs: [long] }));
    const loaded = await new FileStateStore(path).load();
    expect(loaded).toMatchObject({
      kind: "loaded",
      jobs: [{ state: { errorKind: "k".repeat(MAX_STATE_TEXT) } }],
    });
  });

  it("migrates a version 1 file and saves it as the current version, with the last api verdict", async () => {
    const path = join(await tempDir(), "state.json");
    await writeFile(path, JSON.stringify({ version: 1, savedAt: "x", jobs: [entry] }));
    const store = new FileStateStore(path);
    expect(await store.load()).toEqual({ kind: "loaded", jobs: [job], migratedFrom: 1 });
    store.save([job], 0, { apiUp: true });
    const saved = JSON.parse(await readFile(path, "utf8"));
    expect(saved).toMatchObject({ version: 2, apiUp: true });
    expect(await store.load()).toEqual({ kind: "loaded", jobs: [job], apiUp: true });
  });

  it("reads a file of a newer version as far as it understands it", async () => {
    const path = join(await tempDir(), "state.json");
    const newer = { ...entry, somethingNew: { a: 1 } };
    await writeFile(path, JSON.stringify({ version: 9, savedAt: "x", extra: 1, jobs: [newer] }));
    expect(await new FileStateStore(path).load()).toEqual({
      kind: "loaded",
      jobs: [job],
      migratedFrom: 9,
    });
  });
});

describe("FileStateStore.save's commit point", () => {
  it("runs beforeCommit once the new state is durable in the temporary file, before the rename", async () => {
    const dir = await tempDir();
    const path = join(dir, "state.json");
    const store = new FileStateStore(path);
    store.save([job], 0);
    const seen: { state: string; temp: string[] }[] = [];
    store.save([trackedOf({ ...entry, status: "COMPLETED" })], 1, {}, () => {
      seen.push({
        state: JSON.parse(readFileSync(path, "utf8")).jobs[0].status,
        temp: readdirSync(dir).filter((name) => name.endsWith(".tmp")),
      });
    });
    expect(seen).toEqual([{ state: "RUNNING", temp: [`.state.json.${process.pid}.tmp`] }]);
    expect(await store.load()).toMatchObject({ jobs: [{ state: { status: "COMPLETED" } }] });
  });
});
