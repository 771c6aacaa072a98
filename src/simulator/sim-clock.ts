/** The simulator's clock: real time plus manual advances, or manual time only (for tests). */

/** How simulator time moves: with the wall clock, or only through `advance()`. */
export type ClockMode = "real" | "manual";

/** Simulator time in epoch milliseconds, and seconds since the scenario's t=0. */
export interface SimClock {
  /** Epoch ms of the scenario's t=0. */
  readonly startTime: number;
  now(): number;
  /** Seconds since t=0 (fractional). */
  elapsedSeconds(): number;
  /** Moves time forward; throws a RangeError for a negative or non-finite amount. */
  advance(seconds: number): void;
}

/** Creates a clock; `wallNow` is the real clock, a parameter so that it can be replaced. */
export function createSimClock(
  mode: ClockMode,
  startTime: number,
  wallNow: () => number = Date.now,
): SimClock {
  const wallStart = wallNow();
  let advancedMs = 0;
  const now = (): number =>
    startTime + advancedMs + (mode === "real" ? Math.max(0, wallNow() - wallStart) : 0);
  return {
    startTime,
    now,
    elapsedSeconds: () => (now() - startTime) / 1000,
    advance(seconds: number): void {
      if (!Number.isFinite(seconds) || seconds < 0) {
        throw new RangeError(`advance: seconds must be a finite number >= 0, got ${seconds}`);
      }
      advancedMs += seconds * 1000;
    },
  };
}
