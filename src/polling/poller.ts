/**
 * One poll cycle: every configured job that is not final is read once, at most `concurrency` at
 * a time, and fed to the tracker. Events are held until the cycle's state is saved, then logged
 * at once, so that a crash never logs a change that a restart would log again, and loses one
 * only if it strikes in the instant between the two.
 */
import { AtlasHttpError, isAtlasError, type AtlasError } from "../atlas/errors.js";
import { jobKey } from "../atlas/model.js";
import type { ApiMode, JobSettings } from "../config/settings.js";
import type { HoldLines, Logger } from "../logger.js";
import type { Metrics } from "../http/metrics.js";
import { PollDeferredError } from "./pacer.js";
import { jobFields, reportEvent } from "./report.js";
import type { FetchJob, PollContext } from "./resilience.js";
import type { StateStore } from "../state/store.js";
import type { JobState } from "../tracker/job-state.js";
import {
  initialState,
  isTerminal,
  observeError,
  observeJob,
  resolveApi,
  switchApi,
  tenantGoneReason,
  type TrackerEvent,
} from "../tracker/tracker.js";

/** What a poller needs. */
export interface PollerOptions {
  readonly fetchJob: FetchJob;
  readonly jobs: readonly JobSettings[];
  readonly mode: ApiMode;
  readonly tenantSunset: number;
  readonly concurrency: number;
  readonly store: StateStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  /** Writes the lines logged inside it as one batch (see logger.ts); by default, as they come. */
  readonly holdLines?: HoldLines;
  /** Called with each event right after it is reported (the status page's recent activity). */
  readonly onReported?: (state: JobState, event: TrackerEvent) => void;
}

/** What one cycle did. */
export interface CycleResult {
  readonly polled: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Jobs not polled because their rate-limit bucket only allowed it after the deadline. */
  readonly deferred: number;
  readonly events: number;
  readonly saved: boolean;
}

interface JobOutcome {
  readonly state: JobState;
  readonly events: readonly TrackerEvent[];
  /** True when Atlas answered (even with a client error), false when it could not be reached. */
  readonly reached: boolean | undefined;
  readonly ok: boolean;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Holds the tracked state of every configured job and polls them. */
export class Poller {
  readonly #options: PollerOptions;
  readonly #states = new Map<string, JobState>();
  #saveFailing = false;

  constructor(options: PollerOptions) {
    this.#options = options;
    for (const job of options.jobs) this.#states.set(jobKey(job), this.#fresh(job));
  }

  /** The tracked state of every configured job. */
  jobs(): Iterable<JobState> {
    return this.#states.values();
  }

  /** Loads the saved state; a job no longer configured is dropped. */
  async restore(): Promise<void> {
    const { logger, store } = this.#options;
    const result = await store.load();
    if (result.kind === "moved_aside") {
      logger.warn(
        { event: "state_moved_aside", problem: result.problem, movedTo: result.movedTo },
        "state file unusable; moved aside, starting fresh",
      );
      return;
    }
    if (result.kind === "absent") return;
    let restored = 0;
    for (const saved of result.jobs) {
      const key = jobKey(saved);
      if (this.#states.has(key)) {
        this.#states.set(key, saved);
        restored++;
      }
    }
    logger.info({ event: "state_loaded", jobs: restored }, "state loaded");
  }

  /** Saves the state now, durably (also done at the end of every cycle). False on failure. */
  save(): boolean {
    const saved = this.#writeState();
    if (saved) this.#options.store.syncDirectory();
    return saved;
  }

  /** Writes the state file; warns once when that starts failing and says when it works again. */
  #writeState(): boolean {
    const { logger, store, now } = this.#options;
    try {
      store.save([...this.#states.values()], now());
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

  /**
   * Polls every job that is not final, saves the state, then reports what changed. Nothing is
   * sent after `deadline` (the next tick); a job that would have to wait past it is deferred.
   */
  async pollOnce(
    signal: AbortSignal = new AbortController().signal,
    deadline = Number.POSITIVE_INFINITY,
  ): Promise<CycleResult> {
    const { metrics, logger } = this.#options;
    const due = this.#options.jobs.filter((job) => {
      const state = this.#states.get(jobKey(job));
      return state === undefined || !isTerminal(state);
    });
    const outcomes: JobOutcome[] = [];
    let deferred = 0;
    await forEachLimit(due, this.#options.concurrency, async (job) => {
      if (signal.aborted) return;
      const outcome = await this.#pollJob(job, { signal, deadline });
      if (outcome === "deferred") deferred++;
      if (outcome === "deferred" || outcome === undefined) return;
      this.#states.set(jobKey(job), outcome.state);
      outcomes.push(outcome);
    });
    // Save, then log, in one synchronous run: a kill can fall between the two only in the
    // instant between the rename and the first write. If the save failed, the changes are logged
    // anyway: a restart may repeat them, which beats losing them.
    const hold = this.#options.holdLines ?? ((fn) => fn());
    let events = 0;
    const saved = hold(() => {
      const written = this.#writeState();
      for (const outcome of outcomes) {
        for (const event of outcome.events) {
          reportEvent(logger, metrics, outcome.state, event);
          this.#options.onReported?.(outcome.state, event);
          events++;
        }
      }
      return written;
    });
    if (saved) this.#options.store.syncDirectory();
    const reached = outcomes.map((o) => o.reached).filter((r) => r !== undefined);
    if (reached.length > 0) metrics.setApiUp(reached.some(Boolean));
    const succeeded = outcomes.filter((o) => o.ok).length;
    return {
      polled: outcomes.length,
      succeeded,
      failed: outcomes.length - succeeded,
      deferred,
      events,
      saved,
    };
  }

  #fresh(job: JobSettings): JobState {
    const { mode, tenantSunset, now } = this.#options;
    return initialState(job, resolveApi(job.api ?? mode, undefined, now(), tenantSunset).api);
  }

  async #pollJob(
    job: JobSettings,
    context: PollContext,
  ): Promise<JobOutcome | "deferred" | undefined> {
    const { signal } = context;
    const { now, tenantSunset } = this.#options;
    const mode = job.api ?? this.#options.mode;
    const events: TrackerEvent[] = [];
    let state = this.#states.get(jobKey(job)) ?? this.#fresh(job);
    const resolved = resolveApi(mode, state, now(), tenantSunset);
    const moved = switchApi(state, resolved.api, resolved.reason, now(), mode === "auto");
    state = moved.state;
    events.push(...moved.events);

    // Not polled after all: a switch decided on the way still counts (and is saved).
    const unpolled = <T>(otherwise: T): JobOutcome | T =>
      events.length > 0 ? { state, events, reached: undefined, ok: false } : otherwise;

    for (;;) {
      try {
        const found = await this.#options.fetchJob(state.api, job, context);
        const step = observeJob(state, found, now());
        return { state: step.state, events: [...events, ...step.events], reached: true, ok: true };
      } catch (error) {
        if (signal.aborted) return unpolled(undefined);
        if (error instanceof PollDeferredError) {
          this.#options.metrics.pollDeferred(state.api, error.reason);
          this.#options.logger.debug(
            {
              event: "restore_poll_deferred",
              ...jobFields(job),
              api: state.api,
              reason: error.reason,
            },
            "restore job poll deferred to a later cycle",
          );
          return unpolled("deferred" as const);
        }
        const atlasError = this.#asAtlasError(error, job);
        if (!atlasError) return unpolled(undefined);
        const gone =
          mode === "auto" && state.api === "tenant" ? tenantGoneReason(atlasError) : undefined;
        if (gone) {
          const step = switchApi(state, "flex", gone, now(), true);
          state = step.state;
          events.push(...step.events);
          continue;
        }
        const step = observeError(state, atlasError);
        const reached = atlasError instanceof AtlasHttpError && atlasError.status < 500;
        return { state: step.state, events: [...events, ...step.events], reached, ok: false };
      }
    }
  }

  #asAtlasError(error: unknown, job: JobSettings): AtlasError | undefined {
    if (isAtlasError(error)) return error;
    // Not an Atlas failure: a bug. Report it and leave the job's state as it was.
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
