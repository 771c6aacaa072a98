/**
 * Durable state: the tracked jobs, saved after each poll cycle atomically (temporary file, fsync,
 * rename, then an fsync of the directory) and read at start. Reading is forgiving, so that one bad
 * value never throws the whole state away: text is cut to its bound, a job entry that cannot be
 * used drops that job only, an older format is migrated, and only a file that cannot be read or
 * parsed at all is moved aside (the daemon then starts fresh instead of crash-looping).
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
import {
  boundText,
  snapshotOf,
  trackedOf,
  type JobSnapshot,
  type TrackedJob,
} from "../tracker/job-state.js";

/**
 * The state file's format version. 1: the jobs. 2: also `apiUp`, the last verdict on Atlas, so
 * that `atlas_restore_api_up` survives a restart. A file of an older version is migrated; one of a
 * newer version is read as far as this version understands it.
 */
export const STATE_VERSION = 2;

/** Jobs whose lines a save writes at a time. */
const SAVE_CHUNK_JOBS = 256;

const objectId = z.string().regex(/^[a-f0-9]{24}$/);
const time = z.number().finite();
/** Free text: kept, cut to the bound every writer applies (see boundText). */
const text = z.string().transform(boundText);

const jobStateSchema = z.object({
  groupId: objectId,
  clusterName: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9-]*$/),
  restoreId: objectId,
  api: z.enum(API_FAMILIES as [string, ...string[]]),
  status: z.enum(ALL_STATUSES as [string, ...string[]]).nullable(),
  rawStatus: text.optional(),
  info: z
    .object({
      deliveryType: text.optional(),
      snapshotId: text.optional(),
      targetProjectId: text.optional(),
      targetDeploymentItemName: text.optional(),
      scheduledAt: time.optional(),
      finishedAt: time.optional(),
    })
    .optional(),
  lastTransitionAt: time.optional(),
  lastSuccessAt: time.optional(),
  terminalSince: time.optional(),
  errorKind: text.optional(),
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
    .optional(),
});

/** The envelope of every version; the jobs are read one by one. */
const stateFileSchema = z.object({
  version: z.int().positive(),
  savedAt: z.string().optional(),
  apiUp: z.boolean().optional(),
  jobs: z.array(z.unknown()),
});

/** What the daemon keeps besides the jobs. */
export interface StateExtras {
  /** The last verdict on Atlas (`atlas_restore_api_up`), when one was made. */
  readonly apiUp?: boolean | undefined;
}

/** A job entry of the file that could not be used, and why; only that job starts afresh. */
export interface DroppedEntry {
  readonly index: number;
  readonly restoreId: string | undefined;
  readonly problem: string;
}

/** What loading found. */
export type LoadResult =
  | {
      readonly kind: "loaded";
      readonly jobs: readonly TrackedJob[];
      readonly apiUp?: boolean;
      /** Entries that were dropped, when any. */
      readonly dropped?: readonly DroppedEntry[];
      /** The file's version, when it was not STATE_VERSION and was migrated. */
      readonly migratedFrom?: number;
    }
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
   * Saves the state atomically and synchronously. `beforeCommit`, if given, runs once the new
   * state is durable in a temporary file and right before the rename that makes it the state:
   * the caller logs what the state records there. Throws on failure (the caller warns and goes
   * on); `beforeCommit` has then run only if the failure came after it.
   */
  save(
    jobs: readonly TrackedJob[],
    now: number,
    extras?: StateExtras,
    beforeCommit?: () => void,
  ): void;
  /** Makes the last save's rename durable against power loss; best effort, never throws. */
  syncDirectory(): void;
}

/** The first problem zod found, as `path: message`. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue?.path.length ? issue.path.join(".") : "top level";
  return `${where}: ${issue?.message}`;
}

/**
 * Reads a parsed state file of any version: the envelope must be right, each job entry is taken
 * or dropped on its own. Version 1 differs from 2 only by lacking `apiUp`, so it needs no rewrite.
 */
export function decodeState(data: unknown): LoadResult | { kind: "unusable"; problem: string } {
  const envelope = stateFileSchema.safeParse(data);
  if (!envelope.success) {
    return {
      kind: "unusable",
      problem: `does not hold a valid state (${firstIssue(envelope.error)})`,
    };
  }
  const { version, apiUp, jobs: entries } = envelope.data;
  const jobs: TrackedJob[] = [];
  const dropped: DroppedEntry[] = [];
  entries.forEach((entry, index) => {
    const parsed = jobStateSchema.safeParse(entry);
    if (parsed.success) jobs.push(toTrackedJob(parsed.data));
    else dropped.push({ index, restoreId: restoreIdOf(entry), problem: firstIssue(parsed.error) });
  });
  return {
    kind: "loaded",
    jobs,
    ...(apiUp !== undefined ? { apiUp } : {}),
    ...(dropped.length > 0 ? { dropped } : {}),
    ...(version !== STATE_VERSION ? { migratedFrom: version } : {}),
  };
}

function restoreIdOf(entry: unknown): string | undefined {
  const id = (entry as { restoreId?: unknown } | null)?.restoreId;
  return typeof id === "string" && /^[a-f0-9]{24}$/.test(id) ? id : undefined;
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
    const decoded = decodeState(data);
    return decoded.kind === "unusable" ? this.#moveAside(decoded.problem) : decoded;
  }

  save(
    jobs: readonly TrackedJob[],
    now: number,
    extras: StateExtras = {},
    beforeCommit?: () => void,
  ): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true });
    // One job per line: readable. Each save encodes every job again: at 10,000 jobs some 15 ms,
    // which the poller's wait between saves keeps a small share of the time, where keeping each
    // job's JSON from one save to the next held some 4 MB for as long as the jobs' states lived.
    const head = JSON.stringify({
      version: STATE_VERSION,
      savedAt: new Date(now).toISOString(),
      ...(extras.apiUp !== undefined ? { apiUp: extras.apiUp } : {}),
    });
    const temp = this.#tempPath(process.pid);
    const fd = openSync(temp, "w", 0o600);
    try {
      // Written SAVE_CHUNK_JOBS lines at a time: at 10,000 jobs the whole text is some 4 MB, which
      // as one string, then one buffer, would add twice that to the process's peak for a moment.
      let text = `${head.slice(0, -1)},"jobs":${jobs.length > 0 ? "[\n" : "[]"}`;
      jobs.forEach((job, index) => {
        text += JSON.stringify(snapshotOf(job));
        text += index < jobs.length - 1 ? ",\n" : "\n]";
        if ((index + 1) % SAVE_CHUNK_JOBS === 0) {
          writeFileSync(fd, text, "utf8");
          text = "";
        }
      });
      writeFileSync(fd, `${text}}\n`, "utf8");
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      beforeCommit?.();
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

function toTrackedJob(job: z.output<typeof jobStateSchema>): TrackedJob {
  return trackedOf({ ...job, status: job.status as RestoreStatus | null } as JobSnapshot);
}
