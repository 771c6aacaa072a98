/** Says what loading the state found: moved aside, migrated, entries dropped, jobs loaded. */
import type { Logger } from "../logger.js";
import { STATE_VERSION, type LoadResult } from "../state/store.js";

/** Logs the outcome of `StateStore.load()`, one line per finding (`state_loaded` is logged by the caller). */
export function reportLoad(logger: Logger, result: LoadResult): void {
  if (result.kind === "moved_aside") {
    logger.warn(
      { event: "state_moved_aside", problem: result.problem, movedTo: result.movedTo },
      "state file unusable; moved aside, starting fresh",
    );
    return;
  }
  if (result.kind !== "loaded") return;
  if (result.migratedFrom !== undefined) {
    logger.info(
      { event: "state_migrated", from: result.migratedFrom, to: STATE_VERSION },
      "state file of another version read; it is saved in this version from now on",
    );
  }
  for (const entry of result.dropped ?? []) {
    logger.warn(
      {
        event: "state_entry_dropped",
        index: entry.index,
        restoreId: entry.restoreId,
        problem: entry.problem,
      },
      "state entry unusable; that job starts afresh",
    );
  }
}
