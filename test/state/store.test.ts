import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileStateStore } from "../../src/state/store.js";
import type { JobState } from "../../src/tracker/job-state.js";

const job: JobState = {
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
    expect(saved.version).toBe(1);
    expect(saved.savedAt).toBe("2026-11-29T10:00:00.000Z");
  });

  it("round-trips a cancelled dedicated job", async () => {
    const store = new FileStateStore(join(await tempDir(), "state.json"));
    const cancelled: JobState = {
      groupId: job.groupId,
      clusterName: "Prod0",
      restoreId: "6a793f81d2c4a03c5e4b1f21",
      api: "dedicated",
      status: "CANCELLED",
      info: { deliveryType: "download", scheduledAt: 1_786_331_009_000 },
      lastTransitionAt: 1_786_331_100_000,
      lastSuccessAt: 1_786_331_100_000,
      terminalSince: 1_786_331_100_000,
    };
    store.save([cancelled], Date.parse("2026-11-29T10:00:00Z"));
    expect(await store.load()).toEqual({ kind: "loaded", jobs: [cancelled] });
  });

  it.each([
    ["not JSON", "{not json", "is not valid JSON"],
    ["another version", JSON.stringify({ version: 2, savedAt: "x", jobs: [] }), "version"],
    [
      "a bad job",
      JSON.stringify({ version: 1, savedAt: "x", jobs: [{ ...job, status: "DONE" }] }),
      "jobs.0.status",
    ],
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
    expect(() => store.save([{ ...job, status: "COMPLETED" }], 1)).toThrow(/EISDIR/);
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
});
