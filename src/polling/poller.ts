/**
 * Polls targets, each on its own: every watched cluster's LIST (one request a cycle in steady
 * state) and the GET of every job that no LIST covers (a configured job, or an unfinished job
 * that fell off the pages read). A target still in flight at its next tick is skipped and
 * counted, alone; nothing else waits for it. A job's change is saved, then logged, as soon as its
 * own answer is in: answers that arrive together share one save, and the lines of a save are
 * written right after it in the same synchronous step, so that a crash never logs a change that
 * a restart would log again.
 */
import { AtlasHttpError, isAtlasError, type AtlasError } from "../atlas/errors.js";
import { jobKey, type JobRef, type RestoreJob } from "../atlas/model.js";
import { Slots } from "../slots.js";
import type { RestoreJobPages } from "../atlas/client.js";
import type { ApiMode, JobSettings } from "../config/settings.js";
import type { HoldLines, Logger } from "../logger.js";
import type { Metrics, PollTarget } from "../http/metrics.js";
import { AccessDeniedReporter } from "./access-denied.js";
import { apiUsableAfter } from "./api-verdict.js";
import { reportLoad } from "./state-load-report.js";
import { PollDeferredError } from "./pacer.js";
import { jobFields, reportEvent } from "./report.js";
import type { FetchJob, PollContext } from "./resilience.js";
import type { StateStore } from "../state/store.js";
import {
  sameState,
  type JobState,
  type TrackedJob,
  type TrackedRecord,
} from "../tracker/job-state.js";
import {
  initialState,
  isTerminal,
  observeError,
  observeJob,
  observeListedJob,
  resolveApi,
  switchApi,
  tenantGoneReason,
  type TrackerEvent,
} from "../tracker/tracker.js";

/**
 * Reads a cluster's restore jobs on `api` (Flex unless given), page by page while `wantMore`
 * asks for the next.
 */
export type ListJobs = (
  groupId: string,
  clusterName: string,
  wantMore: (page: readonly RestoreJob[]) => boolean,
  context: PollContext,
  api?: ListedApi,
) => Promise<RestoreJobPages>;

/** The families whose restore jobs a watched cluster is listed on. */
export type ListedApi = "flex" | "dedicated";

/** How long a change waits for others to share its save, with which its line is written. */
export const FLUSH_DELAY_MS = 100;

/**
 * The longest such wait. A save rewrites the whole state, which takes longer the more jobs there
 * are: the wait grows with it (ten times the last save), so that saving stays a small share of
 * the daemon's time when thousands of jobs change at once, as on a first start; up to this bound,
 * so that a change is still logged within seconds.
 */
export const MAX_FLUSH_DELAY_MS = 2_000;

/**
 * The most changes that wait for a save: the one that makes this many is saved and logged at
 * once, with those before it. Waiting changes hold their job's answer and, once logged, their
 * lines; on a first start at 10,000 jobs, a wait of MAX_FLUSH_DELAY_MS gathered most of the jobs'
 * changes, and their lines, at once (some 15 MB more at the peak).
 */
export const MAX_PENDING_EVENTS = 1_000;

/**
 * How long the state may go unsaved when it differs from the saved one only by polls that
 * confirmed it (their jobs' `lastSuccessAt`): a restart loses no change by it, only how recent the
 * last success was, and polls again at once.
 */
export const LAST_SUCCESS_SAVE_MS = 5 * 60_000;

/** A cluster whose restore jobs are listed. */
export interface ClusterRef {
  readonly groupId: string;
  readonly clusterName: string;
  /** The family its jobs are listed on; Flex when absent. */
  readonly api?: ListedApi;
}

/** What a poller needs. */
export interface PollerOptions {
  readonly fetchJob: FetchJob;
  readonly listJobs: ListJobs;
  readonly jobs: readonly JobSettings[];
  readonly mode: ApiMode;
  readonly tenantSunset: number;
  /** Requests in flight at once, over every target. */
  readonly concurrency: number;
  /** How long a finished job stays exported, and a job no longer watched stays remembered. */
  readonly retentionMs: number;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  /** Writes the lines logged inside it as one batch (see logger.ts); by default, as they come. */
  readonly holdLines?: HoldLines;
  /** Called with each event right after it is reported (the status page's recent activity). */
  readonly onReported?: (state: JobState, event: TrackerEvent) => void;
}

/** What the targets launched by one tick did, once all of them are over. */
export interface CycleResult {
  /** Targets that got an answer or a definite failure (LISTs and GETs). */
  readonly polled: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Targets not polled because their rate-limit bucket only allowed it after the deadline. */
  readonly deferred: number;
  /** Targets not polled because they were still in flight from an earlier tick. */
  readonly skipped: number;
  /** Lines reported for the jobs of this tick's targets. */
  readonly events: number;
}

/** The last listing of one watched cluster, as the status page shows it. */
export interface ClusterListing {
  readonly groupId: string;
  readonly clusterName: string;
  /** When the last LIST succeeded, epoch milliseconds. */
  readonly lastSuccessAt: number | undefined;
  /** The kind of the last LIST's failure (e.g. `http_404_CLUSTER_NOT_FOUND`), absent after a success. */
  readonly errorKind: string | undefined;
  /** True after a 404: not listed again until discovery confirms the cluster. */
  readonly gone: boolean;
  /** Jobs on the pages read by the last successful LIST. */
  readonly jobs: number;
  /** Pages the last successful LIST read. */
  readonly pages: number;
}

interface ClusterTarget extends ClusterRef {
  /** The family it is listed on now: a Flex read that Atlas refuses as dedicated moves it. */
  api: ListedApi;
  lastSuccessAt?: number;
  errorKind?: string;
  gone: boolean;
  /** Keys of the jobs on the pages read by the last successful LIST. */
  listed?: ReadonlySet<string>;
  pages: number;
}

/** How one target ended. */
type Outcome = "ok" | "failed" | "deferred" | "aborted";

/** Tallies of one tick's targets. */
interface Tally {
  polled: number;
  succeeded: number;
  failed: number;
  deferred: number;
  skipped: number;
  events: number;
  /** Answers that told whether Atlas is usable (see api-verdict.ts), and whether one said so. */
  verdicts: number;
  usable: boolean;
}

/** Counts an answer that says whether Atlas is usable. */
function noteVerdict(tally: Tally, usable: boolean): void {
  tally.verdicts++;
  if (usable) tally.usable = true;
}

function clusterKey(ref: Pick<ClusterRef, "groupId" | "clusterName">): string {
  return `${ref.groupId}/${ref.clusterName}`;
}

/** Runs at most `limit` tasks at once, in the order they were asked for. */
class Limiter {
  #active = 0;
  readonly #waiting: (() => void)[] = [];
  limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#active++;
    try {
      return await task();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}

/** Holds the tracked state of every known job and polls the targets. */
/**
 * Saves the state and logs what it records, so that a kill at any moment neither loses a line nor
 * (but in one instant) repeats one: the new state is made durable in a temporary file first, then
 * the lines are written (held ones in one write), then the rename commits the state. A kill before
 * the lines leaves the old state, and the restart logs them; a kill during the rename, which can
 * take milliseconds, comes after them; only a kill between the write and the rename system calls
 * would make a restart repeat them. When the save fails, or the store does not call back, the
 * lines are logged anyway: a restart may repeat them, which beats losing them.
 */
function saveAndLog(
  hold: HoldLines | undefined,
  save: (beforeCommit: () => void) => boolean,
  log: () => void,
): boolean {
  let logged = false;
  const logOnce = (): void => {
    if (logged) return;
    logged = true;
    log();
  };
  const run = (flush: () => void): boolean => {
    const saved = save(() => {
      logOnce();
      flush();
    });
    logOnce();
    return saved;
  };
  return hold ? hold(run) : run(() => undefined);
}

/** Adds what a failure says about Atlas (see api-verdict.ts) to the cycle's verdicts. */
function recordVerdict(tally: Tally, error: AtlasError): void {
  const usable = apiUsableAfter(error);
  if (usable !== undefined) noteVerdict(tally, usable);
}

export class Poller {
  readonly #options: PollerOptions;
  /** Every tracked job, by jobKey. */
  readonly #states = new Map<string, TrackedRecord>();
  #configured = new Map<string, JobSettings>();
  #mode: ApiMode;
  #tenantSunset: number;
  #retentionMs: number;
  readonly #clusters = new Map<string, ClusterTarget>();
  /** Targets in flight, by cluster key or job key (a job key has one more segment). */
  readonly #inFlight = new Slots<string>();
  /**
   * How many targets are in flight, and who waits for none to be. A count, not a set of the runs:
   * a set that adds and deletes a run per target keeps replaced tables, and through them the runs,
   * alive past the young generation (see Slots).
   */
  #runs = 0;
  #idleWaiters: (() => void)[] = [];
  /** Targets whose skip was already warned about, until they land. */
  readonly #skipWarned = new Set<string>();
  readonly #limiter: Limiter;
  /** When this process first found a remembered job unwatched, by job key. */
  readonly #unwatchedSince = new Map<string, number>();
  /** Changes applied in memory, to be saved and then logged by the next flush. */
  #pending: { state: JobState; event: TrackerEvent }[] = [];
  #flushScheduled = false;
  /** The wait before the next flush (see MAX_FLUSH_DELAY_MS). */
  #flushDelayMs = FLUSH_DELAY_MS;
  /** The state holds a change the saved one lacks. */
  #dirty = false;
  /** A job's `lastSuccessAt` moved since the last save. */
  #confirmed = false;
  /** When the state was last saved, epoch ms. */
  #savedAt = 0;
  readonly #accessDenied = new AccessDeniedReporter();
  /** False until restore() has read the saved state: nothing may be saved over it before. */
  #restored = false;
  #saveFailing = false;

  constructor(options: PollerOptions) {
    this.#options = options;
    this.#mode = options.mode;
    this.#tenantSunset = options.tenantSunset;
    this.#retentionMs = options.retentionMs;
    this.#limiter = new Limiter(options.concurrency);
    this.setJobs(options.jobs);
  }

  /** The jobs to export: configured ones and those of watched clusters. */
  jobs(): TrackedJob[] {
    return [...this.#states.entries()]
      .filter(([key, tracked]) => this.#isActive(key, tracked.state))
      .map(([, tracked]) => tracked);
  }

  /** Every tracked job, watched or only remembered. */
  allJobs(): Iterable<TrackedJob> {
    return this.#states.values();
  }

  /** The watched clusters and their last listing. */
  clusters(): ClusterListing[] {
    return [...this.#clusters.values()].map((target) => ({
      groupId: target.groupId,
      clusterName: target.clusterName,
      lastSuccessAt: target.lastSuccessAt,
      errorKind: target.errorKind,
      gone: target.gone,
      jobs: target.listed?.size ?? 0,
      pages: target.pages,
    }));
  }

  /**
   * Replaces the configured jobs. A job that leaves keeps its state (not polled, not exported)
   * for the retention, so that adding it back repeats nothing.
   */
  setJobs(jobs: readonly JobSettings[]): void {
    this.#configured = new Map(jobs.map((job) => [jobKey(job), job]));
    for (const [key, job] of this.#configured) {
      if (!this.#states.has(key)) {
        this.#states.set(key, { state: this.#fresh(job), lastSuccessAt: undefined });
      }
    }
  }

  /** Changes the settings a reload may change. */
  configure(settings: {
    mode: ApiMode;
    tenantSunset: number;
    retentionMs: number;
    concurrency: number;
  }): void {
    this.#mode = settings.mode;
    this.#tenantSunset = settings.tenantSunset;
    this.#retentionMs = settings.retentionMs;
    this.#limiter.limit = settings.concurrency;
  }

  /**
   * Replaces the watched clusters (discovery's answer). A cluster that stays keeps its last
   * listing; one that returns after a 404 is listed again. Jobs of a cluster that leaves keep
   * their state for the retention.
   */
  setClusters(clusters: readonly ClusterRef[]): void {
    const wanted = new Map(clusters.map((ref) => [clusterKey(ref), ref]));
    for (const key of this.#clusters.keys()) if (!wanted.has(key)) this.#clusters.delete(key);
    for (const [key, ref] of wanted) {
      const existing = this.#clusters.get(key);
      if (existing) {
        existing.gone = false;
        if (ref.api !== undefined) existing.api = ref.api;
      } else {
        this.#clusters.set(key, {
          groupId: ref.groupId,
          clusterName: ref.clusterName,
          api: ref.api ?? "flex",
          gone: false,
          pages: 0,
        });
      }
    }
    this.#countClusters();
  }

  /** Exports how many clusters are watched on each family. */
  #countClusters(): void {
    const targets = [...this.#clusters.values()];
    for (const api of ["flex", "dedicated"] as const) {
      this.#options.metrics.setWatchedClusters(
        api,
        targets.filter((target) => target.api === api).length,
      );
    }
  }

  /** Loads the saved state: every saved job, configured or discovered. */
  async restore(): Promise<void> {
    const { logger, store, metrics } = this.#options;
    const result = await store.load();
    this.#restored = true;
    reportLoad(logger, result);
    if (result.kind !== "loaded") return;
    if (result.apiUp !== undefined) metrics.setApiUp(result.apiUp);
    for (const saved of result.jobs) this.#states.set(jobKey(saved.state), { ...saved });
    logger.info({ event: "state_loaded", jobs: result.jobs.length }, "state loaded");
  }

  /**
   * Saves the state now, durably, logging what it records. False on failure, and before restore()
   * has read the saved state (a stop during start-up keeps it as it was).
   */
  save(): boolean {
    if (!this.#restored) return false;
    return this.#flush();
  }

  /** Resolves once no target is in flight (those started meanwhile included). */
  async idle(): Promise<void> {
    if (this.#runs > 0) await new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * Starts every target that is due and not in flight, and resolves when those are over.
   * Nothing is sent after `deadline` (the next tick) that would have to wait for its bucket.
   */
  async pollOnce(
    signal: AbortSignal = new AbortController().signal,
    deadline = Number.POSITIVE_INFINITY,
  ): Promise<CycleResult> {
    const tally: Tally = {
      polled: 0,
      succeeded: 0,
      failed: 0,
      deferred: 0,
      skipped: 0,
      events: 0,
      verdicts: 0,
      usable: false,
    };
    const context: PollContext = { signal, deadline };
    // The cycle's targets: watched clusters first, then the jobs known at its start. Each is
    // taken up only when a worker is free, and a job is checked then (a cluster's LIST may have
    // read it meanwhile): at 10,000 jobs, launching them all at once made 10,000 waiting polls
    // live through the whole cycle, which cost memory and collection time.
    const clusters = [...this.#clusters].filter(([, target]) => !target.gone);
    const jobKeys = [...this.#states.keys()];
    let nextCluster = 0;
    let nextJob = 0;
    const worker = async (): Promise<void> => {
      for (let cluster = clusters[nextCluster++]; cluster; cluster = clusters[nextCluster++]) {
        const [key, target] = cluster;
        await this.#launch(key, "cluster", tally, () => this.#list(target, context, tally));
      }
      while (nextJob < jobKeys.length) {
        const key = jobKeys[nextJob++]!;
        const state = this.#states.get(key)?.state;
        const job = state && this.#jobToGet(key, state);
        if (job) await this.#launch(key, "job", tally, () => this.#get(job, key, context, tally));
      }
    };
    // As many workers as the limiter lets run: each waits there, behind a target of an earlier
    // cycle still in flight, so the concurrency stays the limiter's.
    await Promise.all(Array.from({ length: this.#limiter.limit }, worker));
    const { metrics, now } = this.#options;
    if (tally.verdicts > 0) {
      const apiUp = tally.usable;
      if (metrics.apiUp() !== apiUp) this.#dirty = true;
      metrics.setApiUp(apiUp);
    }
    this.#prune();
    if (this.#dirty || (this.#confirmed && now() - this.#savedAt >= LAST_SUCCESS_SAVE_MS)) {
      this.#flush();
    }
    return {
      polled: tally.polled,
      succeeded: tally.succeeded,
      failed: tally.failed,
      deferred: tally.deferred,
      skipped: tally.skipped,
      events: tally.events,
    };
  }

  /** Runs one target unless it is in flight; a skip is counted, and warned about once. */
  async #launch(
    id: string,
    kind: PollTarget,
    tally: Tally,
    run: () => Promise<Outcome>,
  ): Promise<void> {
    if (this.#inFlight.includes(id)) {
      tally.skipped++;
      this.#options.metrics.pollSkipped(kind);
      if (!this.#skipWarned.has(id)) {
        this.#skipWarned.add(id);
        this.#options.logger.warn(
          { event: "poll_skipped", target: kind, id },
          "poll skipped: the previous one of this target is still in flight",
        );
      }
      return;
    }
    const slot = this.#inFlight.hold(id);
    this.#runs++;
    try {
      const outcome = await this.#limiter.run(run);
      if (outcome === "ok") tally.succeeded++;
      if (outcome === "failed") tally.failed++;
      if (outcome === "ok" || outcome === "failed") tally.polled++;
      if (outcome === "deferred") tally.deferred++;
    } finally {
      this.#inFlight.release(slot);
      if (--this.#runs === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
      this.#skipWarned.delete(id);
    }
  }

  /** A job to GET: configured or discovered, unfinished, and not covered by its cluster's LIST. */
  #jobToGet(key: string, state: JobState): JobSettings | undefined {
    if (isTerminal(state)) return undefined;
    const configured = this.#configured.get(key);
    const cluster = this.#clusters.get(clusterKey(state));
    if (cluster && !cluster.gone) {
      // Not listed yet: the first LIST will tell. Listed: the LIST covers the jobs it read.
      if (cluster.listed === undefined && cluster.errorKind === undefined) return undefined;
      if (cluster.errorKind === undefined && cluster.listed?.has(key)) return undefined;
      return configured ?? { ...jobRef(state), api: cluster.api };
    }
    return configured;
  }

  /** Whether a job is watched: configured, or on a watched cluster. */
  #isActive(key: string, state: JobState): boolean {
    return this.#configured.has(key) || this.#clusters.has(clusterKey(state));
  }

  /**
   * Forgets a job no longer watched once nothing has happened to it for the retention and this
   * process has seen it unwatched for as long: a restart, or a discovery that fails at start,
   * must not drop the state of jobs that are about to be listed again.
   */
  #prune(): void {
    const now = this.#options.now();
    for (const [key, { state, lastSuccessAt }] of this.#states) {
      if (this.#isActive(key, state)) {
        this.#unwatchedSince.delete(key);
        continue;
      }
      const since = this.#unwatchedSince.get(key) ?? now;
      this.#unwatchedSince.set(key, since);
      const last = Math.max(
        lastSuccessAt ?? 0,
        state.lastTransitionAt ?? 0,
        state.terminalSince ?? 0,
        since,
      );
      if (now - last > this.#retentionMs) {
        this.#states.delete(key);
        this.#unwatchedSince.delete(key);
        this.#dirty = true;
      }
    }
  }

  #fresh(job: JobSettings): JobState {
    const { now } = this.#options;
    return initialState(
      job,
      resolveApi(job.api ?? this.#mode, undefined, now(), this.#tenantSunset).api,
    );
  }

  /**
   * Records a job's new state and its events; they are saved, then logged, at the next flush.
   * `succeededAt` is the time of the poll's success, when Atlas answered with the job.
   */
  #commit(
    key: string,
    state: JobState,
    events: readonly TrackerEvent[],
    tally: Tally,
    succeededAt?: number,
  ): void {
    const tracked = this.#states.get(key);
    if (tracked === undefined) {
      this.#states.set(key, { state, lastSuccessAt: succeededAt });
      this.#dirty = true;
    } else {
      // A state of the same values keeps the one kept already (see TrackedJob).
      if (!sameState(tracked.state, state)) {
        tracked.state = state;
        this.#dirty = true;
      }
      if (succeededAt !== undefined && succeededAt !== tracked.lastSuccessAt) {
        tracked.lastSuccessAt = succeededAt;
        this.#confirmed = true;
      }
    }
    if (events.length === 0) return;
    for (const event of events) this.#pending.push({ state, event });
    tally.events += events.length;
    if (this.#pending.length >= MAX_PENDING_EVENTS) {
      this.#flush();
      return;
    }
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // Answers that land within the delay share one save: fewer saves, and so fewer of the
    // instants (between the lines' write and the save's rename) in which a kill repeats lines.
    setTimeout(() => {
      this.#flushScheduled = false;
      if (this.#pending.length > 0) this.#flush();
    }, this.#flushDelayMs).unref();
  }

  /** Saves the state and logs the changes it records (see saveAndLog). */
  #flush(): boolean {
    const { logger, metrics, store } = this.#options;
    const pending = this.#pending;
    this.#pending = [];
    const report = (): void => {
      for (const { state, event } of pending) {
        reportEvent(logger, metrics, state, event);
        this.#options.onReported?.(state, event);
      }
    };
    const started = performance.now();
    const saved = saveAndLog(
      this.#options.holdLines,
      (beforeCommit) => this.#writeState(beforeCommit),
      report,
    );
    if (saved) {
      this.#dirty = false;
      this.#confirmed = false;
      this.#savedAt = this.#options.now();
      store.syncDirectory();
      const tookMs = performance.now() - started;
      this.#flushDelayMs = Math.min(MAX_FLUSH_DELAY_MS, Math.max(FLUSH_DELAY_MS, 10 * tookMs));
    }
    return saved;
  }

  /** Writes the state file; warns once when that starts failing and says when it works again. */
  #writeState(beforeCommit?: () => void): boolean {
    const { logger, store, now } = this.#options;
    try {
      store.save(
        [...this.#states.values()],
        now(),
        { apiUp: this.#options.metrics.apiUp() },
        beforeCommit,
      );
      if (this.#saveFailing) logger.info({ event: "state_save_recovered" }, "state saved again");
      this.#saveFailing = false;
      return true;
    } catch (error) {
      if (!this.#saveFailing) {
        logger.warn(
          {
            event: "state_save_failed",
            error: (error as NodeJS.ErrnoException).code ?? String(error),
          },
          "state could not be saved; polling goes on",
        );
      }
      this.#saveFailing = true;
      return false;
    }
  }

  /** Lists one cluster and applies every job on the pages read. */
  async #list(target: ClusterTarget, context: PollContext, tally: Tally): Promise<Outcome> {
    const { now, logger } = this.#options;
    // Read another page only while the last one held a job never seen: older pages hold
    // only jobs seen before (Atlas lists Flex jobs newest first), and a known unfinished job that
    // falls off the pages read is cheaper to GET on its own. The order of a dedicated LIST is
    // unconfirmed: every page is read.
    const wantMore = (page: readonly RestoreJob[]): boolean =>
      target.api === "dedicated" ||
      page.some((job) => !this.#states.has(jobKey(jobRefOf(target, job))));
    let pages: RestoreJobPages;
    try {
      pages = await this.#options.listJobs(
        target.groupId,
        target.clusterName,
        wantMore,
        context,
        target.api,
      );
    } catch (error) {
      if (context.signal.aborted) return "aborted";
      if (error instanceof PollDeferredError) {
        this.#options.metrics.pollDeferred(target.api, error.reason);
        return "deferred";
      }
      const atlasError = this.#asAtlasError(error, { ...target, restoreId: "" });
      if (!atlasError) return "failed";
      if (target.api === "dedicated") this.#accessDenied.listed(logger, target, atlasError);
      // A cluster named by a watch entry may be of the other family: Atlas says which.
      const other = otherFamily(target.api, atlasError);
      if (other !== undefined) {
        logger.info(
          {
            event: "cluster_api_detected",
            groupId: target.groupId,
            clusterName: target.clusterName,
            from: target.api,
            to: other,
          },
          "a watched cluster's restore jobs are read on another family",
        );
        target.api = other;
        this.#countClusters();
        return this.#list(target, context, tally);
      }
      recordVerdict(tally, atlasError);
      const gone = atlasError instanceof AtlasHttpError && atlasError.status === 404;
      if (target.errorKind !== atlasError.kind) {
        const http = atlasError instanceof AtlasHttpError ? atlasError : undefined;
        logger.warn(
          {
            event: "cluster_list_error",
            groupId: target.groupId,
            clusterName: target.clusterName,
            errorKind: atlasError.kind,
            previousErrorKind: target.errorKind,
            errorType: atlasError.code,
            status: http?.status,
            errorCode: http?.errorCode,
            detail: http?.detail,
            error: atlasError.message,
          },
          gone
            ? "cluster not found; not listed again until discovery finds it"
            : "listing a cluster's restore jobs failed",
        );
      }
      target.errorKind = atlasError.kind;
      target.gone = gone;
      return "failed";
    }
    noteVerdict(tally, true);
    if (target.api === "dedicated") this.#accessDenied.listed(logger, target, undefined);
    if (target.errorKind !== undefined) {
      logger.info(
        {
          event: "cluster_list_recovered",
          groupId: target.groupId,
          clusterName: target.clusterName,
          previousErrorKind: target.errorKind,
        },
        "listing a cluster's restore jobs works again",
      );
      delete target.errorKind;
    }
    const at = now();
    const listed = new Set<string>();
    for (const job of pages.jobs) {
      const ref = jobRefOf(target, job);
      const key = jobKey(ref);
      if (listed.has(key)) continue;
      listed.add(key);
      let state = this.#states.get(key)?.state ?? initialState(ref, target.api);
      const events: TrackerEvent[] = [];
      if (state.api !== target.api) {
        const moved = switchApi(state, target.api, "flex_cluster", at, target.api === "flex");
        state = moved.state;
        events.push(...moved.events);
      }
      const step = observeListedJob(state, job, at, this.#retentionMs);
      this.#commit(key, step.state, [...events, ...step.events], tally, at);
    }
    target.listed = listed;
    target.lastSuccessAt = at;
    target.pages = pages.pages;
    return "ok";
  }

  /** GETs one job and applies the answer to its state as it is when the answer lands. */
  async #get(job: JobSettings, key: string, context: PollContext, tally: Tally): Promise<Outcome> {
    const { signal } = context;
    const { now } = this.#options;
    const mode = job.api ?? this.#mode;
    const current = (): JobState => this.#states.get(key)?.state ?? this.#fresh(job);
    const before = current();
    const resolved = resolveApi(mode, before, now(), this.#tenantSunset);
    const moved = switchApi(before, resolved.api, resolved.reason, now(), mode === "auto");
    let api = moved.state.api;
    const events: TrackerEvent[] = [...moved.events];
    let switched = moved.state;
    /** The job's state as it is now (a LIST may have moved it meanwhile), on this poll's family. */
    const latest = (): JobState => {
      const state = current();
      return state === before ? switched : { ...state, api, ...pickSwitch(switched) };
    };

    for (;;) {
      try {
        const found = await this.#options.fetchJob(api, job, context);
        const at = now();
        const step = observeJob(latest(), found, at);
        noteVerdict(tally, true);
        this.#commit(
          key,
          step.state,
          events.length > 0 ? [...events, ...step.events] : step.events,
          tally,
          at,
        );
        this.#accessDenied.observe(this.#options.logger, step.state, step.events, true);
        return "ok";
      } catch (error) {
        const unpolled = <T extends Outcome>(outcome: T): T => {
          // Not polled after all: a switch decided on the way still counts (and is saved).
          if (events.length > 0) this.#commit(key, latest(), events, tally);
          return outcome;
        };
        if (signal.aborted) return unpolled("aborted");
        if (error instanceof PollDeferredError) {
          this.#options.metrics.pollDeferred(api, error.reason);
          this.#options.logger.debug(
            { event: "restore_poll_deferred", ...jobFields(job), api, reason: error.reason },
            "restore job poll deferred to a later cycle",
          );
          return unpolled("deferred");
        }
        const atlasError = this.#asAtlasError(error, job);
        if (!atlasError) return unpolled("failed");
        const gone = mode === "auto" && api === "tenant" ? tenantGoneReason(atlasError) : undefined;
        if (gone) {
          const step = switchApi(switched, "flex", gone, now(), true);
          switched = step.state;
          api = switched.api;
          events.push(...step.events);
          continue;
        }
        const step = observeError(latest(), atlasError);
        recordVerdict(tally, atlasError);
        this.#commit(key, step.state, [...events, ...step.events], tally);
        // Dedicated reads need a role Flex reads do not: a 403 says so once per cluster.
        this.#accessDenied.observe(this.#options.logger, step.state, step.events, false);
        return "failed";
      }
    }
  }

  #asAtlasError(error: unknown, job: JobRef): AtlasError | undefined {
    if (isAtlasError(error)) return error;
    // Not an Atlas failure: a bug. Report it and leave the state as it was.
    this.#options.logger.error(
      {
        event: "poll_internal_error",
        ...jobFields(job),
        error: error instanceof Error ? error.message : String(error),
      },
      "restore job poll failed unexpectedly",
    );
    return undefined;
  }
}

/**
 * The family a cluster's LIST should move to when Atlas answers that the cluster is of the other
 * one: 400 CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API on a Flex read, 400
 * CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API on a dedicated one.
 */
function otherFamily(api: ListedApi, error: AtlasError): ListedApi | undefined {
  if (!(error instanceof AtlasHttpError) || error.status !== 400) return undefined;
  if (api === "flex" && error.errorCode === "CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API") {
    return "dedicated";
  }
  if (api === "dedicated" && error.errorCode === "CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API") {
    return "flex";
  }
  return undefined;
}

/** The identity of a job found on a cluster's list. */
function jobRefOf(cluster: ClusterRef, job: RestoreJob): JobRef {
  return { groupId: cluster.groupId, clusterName: cluster.clusterName, restoreId: job.id };
}

/** A job state's identity. */
function jobRef(state: JobState): JobRef {
  return { groupId: state.groupId, clusterName: state.clusterName, restoreId: state.restoreId };
}

/** The remembered move to Flex of a state, if any. */
function pickSwitch(state: JobState): Partial<JobState> {
  return state.switchedToFlex ? { switchedToFlex: state.switchedToFlex } : {};
}
