/**
 * Liveness for `/healthz`: the daemon is healthy while poll cycles keep finishing. A daemon whose
 * cycles stopped (a wedged loop, a scheduler that died) must not stay healthy, or the container
 * runtime never restarts it.
 */

/** The fewest intervals, and the least time, without a finished cycle before `/healthz` fails. */
export const STALE_INTERVALS = 5;
export const MIN_STALE_AFTER_MS = 5 * 60_000;

/**
 * How long without a finished cycle is unhealthy by default: five of the schedule's longest gaps
 * between ticks, and at least five minutes (a cycle may legitimately run for minutes).
 */
export function defaultStaleAfterMs(longestGapMs: number | undefined): number {
  return Math.max(MIN_STALE_AFTER_MS, STALE_INTERVALS * (longestGapMs ?? 0));
}

/** Tracks when the last cycle finished; the clock is monotonic milliseconds. */
export class CycleHealth {
  readonly #now: () => number;
  readonly #staleAfterMs: () => number;
  #lastFinished: number;

  /** Counts as a finished cycle at creation: start-up has `staleAfterMs` to finish the first. */
  constructor(staleAfterMs: () => number, now: () => number = () => performance.now()) {
    this.#now = now;
    this.#staleAfterMs = staleAfterMs;
    this.#lastFinished = now();
  }

  /** Records a finished cycle. */
  cycleFinished(): void {
    this.#lastFinished = this.#now();
  }

  /** True while the last cycle finished at most the staleness limit ago. */
  healthy(): boolean {
    return this.#now() - this.#lastFinished <= this.#staleAfterMs();
  }
}
