/**
 * Durable state: the tracked jobs, saved after each poll cycle atomically (temporary file, fsync,
 * rename, then an fsync of the directory) and read at start. A state file that cannot be read or
 * parsed is moved aside so the daemon starts fresh instead of crash-looping.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { readdir, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { z } from "zod";
import { ALL_STATUSES, API_FAMILIES, type RestoreStatus } from "../atlas/model.js";
import type { JobState } from "../tracker/job-state.js";

/** The state file's format version; a different one is treated as unreadable. */
export const STATE_VERSION = 1;

const objectId = z.string().regex(/^[a-f0-9]{24}$/);
const time = z.number().finite();

const jobStateSchema = z
  .object({
    groupId: objectId,
    clusterName: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9-]*$/),
    restoreId: objectId,
    api: z.enum(API_FAMILIES as [string, ...string[]]),
    status: z.enum(ALL_STATUSES as [string, ...string[]]).nullable(),
    rawStatus: z.string().max(200).optional(),
    info: z
      .object({
        deliveryType: z.string().max(200).optional(),
        snapshotId: z.string().max(200).optional(),
        targetProjectId: z.string().max(200).optional(),
        targetDeploymentItemName: z.string().max(200).optional(),
        scheduledAt: time.optional(),
        finishedAt: time.optional(),
      })
      .strict()
      .optional(),
    lastTransitionAt: time.optional(),
    lastSuccessAt: time.optional(),
    terminalSince: time.optional(),
    errorKind: z.string().max(200).optional(),
    switchedToFlex: z
      .object({
        at: time,
        reason: z.enum([
          "sunset_date",
          "version_gone",
          "flex_cluster",
          "cluster_not_found",
          "configuration",
        ]),
      })
      .strict()
      .optional(),
  })
  .strict();

const stateFileSchema = z
  .object({
    version: z.literal(STATE_VERSION),
    savedAt: z.string(),
    jobs: z.array(jobStateSchema),
  })
  .strict();

/** What loading found. */
export type LoadResult =
  | { readonly kind: "loaded"; readonly jobs: readonly JobState[] }
  | { readonly kind: "absent" }
  | {
      readonly kind: "moved_aside";
      readonly problem: string;
      readonly movedTo: string | undefined;
    };

/** Reads and writes the tracked state. */
export interface StateStore {
  /** Reads the saved state; never throws. */
  load(): Promise<LoadResult>;
  /**
   * Saves the state atomically and synchronously, so that the caller can log what the state
   * records in the same turn of the event loop. Throws on failure (the caller warns and goes on).
   */
  save(jobs: readonly JobState[], now: number): void;
  /** Makes the last save's rename durable against power loss; best effort, never throws. */
  syncDirectory(): void;
}

/** A StateStore backed by one JSON file. */
export class FileStateStore implements StateStore {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async load(): Promise<LoadResult> {
    await this.#removeLeftovers();
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "absent" };
      return this.#moveAside(`cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      return this.#moveAside("is not valid JSON");
    }
    const parsed = stateFileSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join(".") : "top level";
      return this.#moveAside(`does not hold a valid state (${where}: ${issue?.message})`);
    }
    return { kind: "loaded", jobs: parsed.data.jobs.map(toJobState) };
  }

  save(jobs: readonly JobState[], now: number): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true });
    const body = JSON.stringify(
      { version: STATE_VERSION, savedAt: new Date(now).toISOString(), jobs },
      null,
      1,
    );
    const temp = this.#tempPath(process.pid);
    const fd = openSync(temp, "w", 0o600);
    try {
      writeFileSync(fd, body, "utf8");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temp, this.path);
    } catch (error) {
      rmSync(temp, { force: true });
      throw error;
    }
  }

  syncDirectory(): void {
    try {
      const fd = openSync(dirname(this.path), "r");
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // Some filesystems refuse to fsync a directory; the data itself is already on disk.
    }
  }

  /** Where a save by process `pid` writes before the rename. */
  #tempPath(pid: number | string): string {
    return join(dirname(this.path), `.${basename(this.path)}.${pid}.tmp`);
  }

  /** Removes temporary files that a killed process left behind. */
  async #removeLeftovers(): Promise<void> {
    const prefix = `.${basename(this.path)}.`;
    let names: string[];
    try {
      names = await readdir(dirname(this.path));
    } catch {
      return;
    }
    await Promise.all(
      names
        .filter((name) => name.startsWith(prefix) && /^\.[^/]*\.\d+\.tmp$/.test(name))
        .map((name) => rm(join(dirname(this.path), name), { force: true }).catch(() => undefined)),
    );
  }

  async #moveAside(problem: string): Promise<LoadResult> {
    const movedTo = `${this.path}.corrupt-${Date.now()}`;
    try {
      await rename(this.path, movedTo);
      return { kind: "moved_aside", problem, movedTo };
    } catch {
      return { kind: "moved_aside", problem, movedTo: undefined };
    }
  }
}

function toJobState(job: z.infer<typeof jobStateSchema>): JobState {
  return { ...job, status: job.status as RestoreStatus | null } as JobState;
}
