/**
 * A random delay at the start of each scheduled cycle, so that many deployments on the same
 * schedule do not all call Atlas at :00 and :30.
 */

/** Share of the gap to the next tick a cycle's start may be delayed by, and the most it may be. */
export const CYCLE_JITTER_SHARE = 0.1;
export const MAX_CYCLE_JITTER_MS = 10_000;

/** The delay of a cycle whose next tick is `gapMs` away: up to a tenth of it, at most 10 s. */
export function cycleStartJitterMs(gapMs: number, random: number): number {
  return Math.floor(
    random * Math.min(MAX_CYCLE_JITTER_MS, CYCLE_JITTER_SHARE * Math.max(0, gapMs)),
  );
}
