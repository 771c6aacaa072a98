/**
 * Runs poll cycles: one at start, then on the cron schedule, each after a small random delay
 * (see cycle-jitter.ts), never two at once. A tick that finds a cycle still running (or waiting
 * out its delay) is skipped, logged and counted.
 */
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { createTask, type ScheduledTask } from "node-cron";
import type { Logger } from "../logger.js";
import { cycleStartJitterMs } from "./cycle-jitter.js";

/** What the scheduler drives. */
export interface SchedulerOptions {
  readonly schedule: string;
  /** Runs one cycle that should be over by `deadline` (the next tick); rejections are logged. */
  readonly runCycle: (signal: AbortSignal, deadline: number) => Promise<void>;
  readonly onSkipped: () => void;
  readonly logger: Logger;
  /** The delay of a scheduled cycle whose next tick is `gapMs` away; random by default. */
  readonly startJitterMs?: (gapMs: number) => number;
}

/** Starts and stops the cycle loop. */
export class Scheduler {
  readonly #options: SchedulerOptions;
  #task: ScheduledTask | undefined;
  #running: Promise<void> | undefined;
  readonly #abort = new AbortController();
  /** Ends a cycle's start delay at once on stop. */
  readonly #delay = new AbortController();
  /** Set by stop(): no cycle starts after it. */
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    // Every request of a cycle listens on this one signal (undici, the retry policy, the pacer):
    // with `concurrency` requests in flight that is more than Node's default warning threshold
    // of 10, yet no leak, since each request removes its listeners when it ends.
    setMaxListeners(0, this.#abort.signal);
  }

  /** Runs the first cycle now and schedules the next ones. Resolves once the first cycle ends. */
  async start(): Promise<void> {
    const { logger } = this.#options;
    const cronLogger = {
      info: (message: string) => logger.debug({ event: "cron" }, message),
      warn: (message: string) => logger.warn({ event: "cron" }, message),
      error: (message: string | Error) =>
        logger.error({ event: "cron", error: String(message) }, "scheduler error"),
      debug: (message: string | Error) => logger.debug({ event: "cron" }, String(message)),
    };
    if (this.#stopped) return;
    this.#task = createTask(this.#options.schedule, () => this.#tick(), { logger: cronLogger });
    await this.#task.start();
    await this.trigger();
  }

  /** The longest gap between the schedule's next few ticks, once started (for health limits). */
  longestGapMs(): number | undefined {
    const runs = this.#task?.getNextRuns(12).map((date) => date.getTime()) ?? [];
    let longest: number | undefined;
    for (let i = 1; i < runs.length; i++) {
      longest = Math.max(longest ?? 0, (runs[i] ?? 0) - (runs[i - 1] ?? 0));
    }
    return longest;
  }

  /**
   * Runs a cycle now (after `delayMs`) unless one is running; resolves when that cycle ends. A
   * stop during the delay runs no cycle.
   */
  trigger(delayMs = 0): Promise<void> {
    if (this.#running) return this.#running;
    if (this.#stopped) return Promise.resolve();
    const next = this.#task?.getNextRun()?.getTime();
    // Without a known next tick (not started yet), leave the cycle a minute.
    const deadline = next ?? Date.now() + 60_000;
    const delayed =
      delayMs > 0
        ? sleep(delayMs, undefined, { signal: this.#delay.signal }).then(
            () => true,
            () => false,
          )
        : Promise.resolve(true);
    this.#running = delayed
      .then((go) =>
        go && !this.#stopped ? this.#options.runCycle(this.#abort.signal, deadline) : undefined,
      )
      .catch((error: unknown) => {
        this.#options.logger.error(
          {
            event: "poll_cycle_failed",
            error: error instanceof Error ? error.message : String(error),
          },
          "poll cycle failed",
        );
      })
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  #tick(): void {
    if (this.#running) {
      this.#options.onSkipped();
      this.#options.logger.warn(
        { event: "poll_cycle_skipped" },
        "poll cycle skipped: the previous one is still running",
      );
      return;
    }
    const next = this.#task?.getNextRun()?.getTime();
    const gap = next === undefined ? 0 : next - Date.now();
    const jitter = this.#options.startJitterMs ?? ((ms) => cycleStartJitterMs(ms, Math.random()));
    void this.trigger(jitter(gap));
  }

  /**
   * Stops scheduling and waits for a running cycle, at most `graceMs`; after that the cycle's
   * requests are aborted and it is awaited to its end (it saves what it has).
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopped = true;
    this.#delay.abort();
    await this.#task?.destroy();
    const running = this.#running;
    if (!running) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), graceMs);
    });
    const outcome = await Promise.race([running.then(() => "done" as const), timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      this.#abort.abort(new Error("shutting down"));
      await running;
    }
  }
}
