/**
 * The per-job metric families, written straight to the Prometheus text format from the tracker's
 * snapshot (as kube-state-metrics writes its families). At 10,000 jobs these are some 116,000
 * series and 19 MB of text: rendering every line and encoding the whole string at every scrape
 * took hundreds of milliseconds, mostly in making and collecting strings. So, as kube-state-metrics
 * keeps each object's rendered bytes, a JobExposition keeps the bytes from one scrape to the next
 * and renders again only the blocks of jobs whose exported values changed. It keeps them
 * compressed (see DeflatedPiece): 19 MB of text held between scrapes weighed more on the process's
 * memory than anything else it keeps per job.
 */
import { jobKey, statusesOf } from "../atlas/model.js";
import type { JobState, TrackedJob, TrackedRecord } from "../tracker/job-state.js";
import { DeflatedPiece, type ExpositionPiece } from "./exposition-response.js";

/** One family: its name, help, and the samples (or none) each job gets under its labels. */
interface Family {
  readonly name: string;
  readonly help: string;
  /**
   * Whether two states of one job give the same lines. It must look at every field `lines`
   * reads: a field left out would keep a stale sample (the identity labels are the job's key).
   */
  readonly same: (a: TrackedJob, b: TrackedJob) => boolean;
  /** The job's lines, each ending in a newline; "" for none. */
  readonly lines: (job: TrackedJob, ids: string) => string;
}

/** Escapes a label value for the text format: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value)
    ? value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")
    : value;
}

function label(name: string, value: string): string {
  return `${name}="${escapeLabelValue(value)}"`;
}

function timestamp(
  name: string,
  help: string,
  pick: (job: TrackedJob) => number | undefined,
): Family {
  return {
    name,
    help,
    same: (a, b) => pick(a) === pick(b),
    lines(job, ids) {
      const value = pick(job);
      return value === undefined ? "" : `${name}{${ids}} ${value / 1000}\n`;
    },
  };
}

const FAMILIES: readonly Family[] = [
  {
    name: "atlas_restore_job_status",
    help: "Current status of a restore job: 1 for the current status, 0 for the others of its family.",
    same: (a, b) => a.state.api === b.state.api && a.state.status === b.state.status,
    lines(job, ids) {
      if (job.state.status === null) return "";
      const prefix = `atlas_restore_job_status{${ids},${label("api", job.state.api)},status="`;
      let lines = "";
      for (const status of statusesOf(job.state.api)) {
        lines += `${prefix}${status}"} ${job.state.status === status ? 1 : 0}\n`;
      }
      return lines;
    },
  },
  {
    name: "atlas_restore_job_info",
    help: "Static properties of a restore job, always 1.",
    same: (a, b) =>
      a.state.api === b.state.api &&
      (a.state.status === null) === (b.state.status === null) &&
      a.state.info?.deliveryType === b.state.info?.deliveryType &&
      a.state.info?.snapshotId === b.state.info?.snapshotId &&
      a.state.info?.targetProjectId === b.state.info?.targetProjectId &&
      a.state.info?.targetDeploymentItemName === b.state.info?.targetDeploymentItemName,
    lines(job, ids) {
      if (job.state.status === null) return "";
      const info = job.state.info ?? {};
      const labels = [
        ids,
        label("api", job.state.api),
        label("delivery_type", info.deliveryType ?? ""),
        label("snapshot_id", info.snapshotId ?? ""),
        label("target_project_id", info.targetProjectId ?? ""),
        label("target_deployment", info.targetDeploymentItemName ?? ""),
      ];
      return `atlas_restore_job_info{${labels.join(",")}} 1\n`;
    },
  },
  timestamp(
    "atlas_restore_job_scheduled_timestamp_seconds",
    "When Atlas scheduled the restore (restoreScheduledDate; for a dedicated job, its id's creation time), as a Unix timestamp.",
    (job) => job.state.info?.scheduledAt,
  ),
  timestamp(
    "atlas_restore_job_finished_timestamp_seconds",
    "When Atlas finished the restore (restoreFinishedDate; for a dedicated job, finishedAt), as a Unix timestamp.",
    (job) => job.state.info?.finishedAt,
  ),
  timestamp(
    "atlas_restore_job_last_transition_timestamp_seconds",
    "When the daemon saw the job's status change last, as a Unix timestamp.",
    (job) => job.state.lastTransitionAt,
  ),
  timestamp(
    "atlas_restore_job_last_success_timestamp_seconds",
    "When Atlas last answered a poll of the job successfully, as a Unix timestamp.",
    (job) => job.lastSuccessAt,
  ),
  {
    name: "atlas_restore_job_poll_success",
    help: "1 when the last poll of a restore job succeeded, 0 when it failed.",
    same: (a, b) =>
      a.state.api === b.state.api &&
      (a.state.status === null) === (b.state.status === null) &&
      (a.state.errorKind === undefined) === (b.state.errorKind === undefined),
    lines(job, ids) {
      if (job.state.status === null && job.state.errorKind === undefined) return "";
      return `atlas_restore_job_poll_success{${ids},${label("api", job.state.api)}} ${job.state.errorKind === undefined ? 1 : 0}\n`;
    },
  },
];

/** Each family's HELP and TYPE lines. */
const HEADERS = FAMILIES.map((family) =>
  Buffer.from(`# HELP ${family.name} ${family.help}\n# TYPE ${family.name} gauge\n`),
);

/**
 * How many jobs share a block. At 10,000 jobs that makes 40 blocks, so a scrape writes some 280
 * pieces, and a change renders and compresses again at most a block's status lines, some 250 kB.
 * 128 and 512 jobs measured the same (bench/metrics-render.ts).
 */
export const BLOCK_JOBS = 256;

/** A job: what its lines show, and where they are. */
interface Entry {
  /** Its identity labels, on every line. */
  readonly ids: string;
  /**
   * What its lines were rendered from, and what the render under way renders: copies, since the
   * tracker changes its own in place.
   */
  readonly shown: TrackedRecord;
  readonly next: TrackedRecord;
  /** The block whose lines hold the job's; none before its first render. */
  block: Block | undefined;
  /** The render that last included it, and its place in that render's list. */
  seen: number;
  at: number;
}

/** Up to BLOCK_JOBS jobs whose lines are kept together, one buffer per family. */
interface Block {
  /** Its jobs, in the order their lines are written. */
  readonly entries: Entry[];
  /** Its lines by family, as FAMILIES; empty until the block is first built. */
  lines: DeflatedPiece[];
  /** True when jobs joined or left since `lines` were built. */
  changed: boolean;
}

/**
 * `text` as one flat string. A string built of parts is a tree of them (V8's cons strings): the
 * identity labels made by `label` hold some 16 pieces, 700 bytes per job kept for as long as the
 * job is exported, where the flat string takes some 120. A JSON round trip copies any string
 * exactly, lone surrogates included.
 */
function flat(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/** The entry of a job not rendered before, in no block yet. */
function newEntry(job: TrackedJob, serial: number): Entry {
  const { state } = job;
  return {
    ids: flat(
      `${label("group_id", state.groupId)},${label("cluster_name", state.clusterName)},${label("restore_id", state.restoreId)}`,
    ),
    shown: { state, lastSuccessAt: job.lastSuccessAt },
    next: { state, lastSuccessAt: job.lastSuccessAt },
    block: undefined,
    seen: serial,
    at: -1,
  };
}

/** Whether two states are of the same job. */
function sameJob(a: JobState, b: JobState): boolean {
  return a.restoreId === b.restoreId && a.clusterName === b.clusterName && a.groupId === b.groupId;
}

/** Whether an entry's lines in `family` can be copied from where they are. */
function unchanged(family: Family, entry: Entry): boolean {
  const { shown, next } = entry;
  return (
    (shown.state === next.state && shown.lastSuccessAt === next.lastSuccessAt) ||
    family.same(shown, next)
  );
}

/**
 * Where a block's text is encoded before it is compressed: one buffer for them all, grown as
 * needed (a block's status lines, some 250 kB), instead of a new one per piece, which would stay
 * allocated until a garbage collection (some 19 MB for a first render at 10,000 jobs).
 */
let scratch = Buffer.alloc(0);

/** Family `index`'s lines for `entries`, rendered from their next states. */
function build(index: number, entries: readonly Entry[]): DeflatedPiece {
  const family = FAMILIES[index] as Family;
  let text = "";
  for (const entry of entries) text += family.lines(entry.next, entry.ids);
  const length = Buffer.byteLength(text);
  if (scratch.length < length)
    scratch = Buffer.allocUnsafeSlow(Math.max(length, 2 * scratch.length));
  scratch.write(text, 0, length);
  return new DeflatedPiece(scratch.subarray(0, length));
}

/**
 * The job families, kept between renders. Jobs are kept in blocks of up to BLOCK_JOBS, in the
 * order they were first rendered, each block with one buffer per family. A block is rebuilt when
 * jobs join or leave it, and a block's family when one of its jobs' lines there changed: a poll
 * cycle gives every job a new lastSuccessAt, one line per job, but seldom changes a status or an
 * info label, the bulk of the bytes; and a job that comes or goes (a new restore, one past the
 * retention) touches one block, not the whole text. The pieces are compressed once, when built, so
 * that a gzip answer uses them as they are (see exposition-response.ts).
 */
export class JobExposition {
  /** By jobKey. */
  readonly #entries = new Map<string, Entry>();
  #blocks: Block[] = [];
  /** The last render's entries, as listed. */
  #listed: Entry[] = [];
  #renders = 0;

  /**
   * Every job family for `jobs`, in the text format, as pieces to write in order; empty families
   * are left out. Series come in the order jobs were first rendered. The pieces are never changed
   * afterwards, so a response may still be writing them during the next render.
   */
  render(jobs: readonly TrackedJob[]): ExpositionPiece[] {
    const serial = ++this.#renders;
    const listed: Entry[] = [];
    // A job listed twice (the tracker never does) is rendered twice, as listed, but not kept.
    const again: Entry[] = [];
    // Jobs mostly come in the last render's order: the job after the last one found is tried
    // before the key, which costs a string and a hash per job.
    let next = 0;
    for (const job of jobs) {
      const hint = this.#listed[next];
      const entry =
        hint !== undefined && sameJob(hint.shown.state, job.state)
          ? hint
          : this.#entries.get(jobKey(job.state));
      if (entry === undefined) {
        const added = this.#add(job, serial);
        this.#entries.set(jobKey(job.state), added);
        listed.push(added);
      } else if (entry.seen !== serial) {
        entry.seen = serial;
        entry.next.state = job.state;
        entry.next.lastSuccessAt = job.lastSuccessAt;
        next = entry.at + 1;
        listed.push(entry);
      } else {
        again.push(newEntry(job, serial));
      }
    }
    listed.forEach((entry, at) => (entry.at = at));
    this.#listed = listed;
    if (this.#entries.size > listed.length) this.#dropUnseen(serial);
    this.#compact();
    for (const block of this.#blocks) this.#refresh(block);
    return FAMILIES.flatMap((_, index) => {
      const pieces = this.#blocks.map((block) => block.lines[index] as DeflatedPiece);
      if (again.length > 0) pieces.push(build(index, again));
      const written = pieces.filter((piece) => piece.length > 0);
      return written.length > 0 ? [HEADERS[index] as Buffer, ...written] : [];
    });
  }

  /** A new entry for `job`, at the end of the last block, or of a new one. */
  #add(job: TrackedJob, serial: number): Entry {
    const entry = newEntry(job, serial);
    let last = this.#blocks.at(-1);
    if (last === undefined || last.entries.length >= BLOCK_JOBS) {
      last = { entries: [], lines: [], changed: true };
      this.#blocks.push(last);
    }
    last.entries.push(entry);
    last.changed = true;
    return entry;
  }

  /** Forgets the jobs this render did not list. */
  #dropUnseen(serial: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.seen === serial) continue;
      this.#entries.delete(key);
      // Every job rendered before is in the block holding its lines.
      const block = entry.block as Block;
      block.entries.splice(block.entries.indexOf(entry), 1);
      block.changed = true;
    }
  }

  /**
   * Drops empty blocks and merges a changed block with its neighbour when both fit in one, so
   * that jobs leaving one by one do not leave many small blocks behind.
   */
  #compact(): void {
    const blocks: Block[] = [];
    for (const block of this.#blocks) {
      if (block.entries.length === 0) continue;
      const previous = blocks.at(-1);
      if (
        previous !== undefined &&
        (previous.changed || block.changed) &&
        previous.entries.length + block.entries.length <= BLOCK_JOBS
      ) {
        previous.entries.push(...block.entries);
        previous.changed = true;
        continue;
      }
      blocks.push(block);
    }
    this.#blocks = blocks;
  }

  /** Brings a block's lines up to its jobs' next states. */
  #refresh(block: Block): void {
    const { entries } = block;
    if (block.changed) {
      block.lines = FAMILIES.map((_, index) => build(index, entries));
      block.changed = false;
      for (const entry of entries) entry.block = block;
    } else {
      FAMILIES.forEach((family, index) => {
        if (!entries.every((entry) => unchanged(family, entry))) {
          block.lines[index] = build(index, entries);
        }
      });
    }
    for (const { shown, next } of entries) {
      shown.state = next.state;
      shown.lastSuccessAt = next.lastSuccessAt;
    }
  }
}
