/**
 * The recent past the status page shows and the state file does not keep: the last 100
 * transitions (a ring buffer) and each failing job's last error as Atlas described it. Fed with
 * the tracker's events right where they are reported, so it shows exactly what was logged.
 */
import { AtlasHttpError } from "../atlas/errors.js";
import { jobKey } from "../atlas/model.js";
import type { JobState } from "../tracker/job-state.js";
import type { TrackerEvent } from "../tracker/tracker.js";
import type { PollErrorRecord, TransitionRecord } from "./status-snapshot.js";

/** How many transitions are kept. */
export const TRANSITIONS_KEPT = 100;

/** Longest detail text kept, in characters: Atlas's texts are a sentence or two. */
const MAX_DETAIL = 1_000;

/** Recent transitions and last errors, fed event by event. */
export class RecentActivity {
  readonly #now: () => number;
  readonly #ring: (TransitionRecord | undefined)[] = new Array(TRANSITIONS_KEPT);
  #next = 0;
  #count = 0;
  readonly #errors = new Map<string, PollErrorRecord>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Records one reported event of the job whose state after it is `state`. */
  record(state: JobState, event: TrackerEvent): void {
    switch (event.type) {
      case "transition":
        this.#ring[this.#next] = {
          at: this.#now(),
          groupId: state.groupId,
          clusterName: state.clusterName,
          restoreId: state.restoreId,
          api: state.api,
          from: event.from,
          to: event.to,
        };
        this.#next = (this.#next + 1) % TRANSITIONS_KEPT;
        this.#count = Math.min(this.#count + 1, TRANSITIONS_KEPT);
        return;
      case "poll_error": {
        const { error } = event;
        const http = error instanceof AtlasHttpError ? error : undefined;
        const detail = http ? http.detail : error.message;
        this.#errors.set(jobKey(state), {
          kind: event.kind,
          at: this.#now(),
          ...(http ? { status: http.status } : {}),
          ...(http?.errorCode !== undefined ? { errorCode: http.errorCode } : {}),
          ...(detail !== undefined ? { detail: detail.slice(0, MAX_DETAIL) } : {}),
        });
        return;
      }
      case "poll_recovered":
        this.#errors.delete(jobKey(state));
        return;
      default:
        return;
    }
  }

  /** The kept transitions, newest first. */
  transitions(): TransitionRecord[] {
    const out: TransitionRecord[] = [];
    for (let i = 1; i <= this.#count; i++) {
      const record = this.#ring[(this.#next - i + TRANSITIONS_KEPT) % TRANSITIONS_KEPT];
      if (record) out.push(record);
    }
    return out;
  }

  /** The last error of each job whose polls are failing, by jobKey. */
  errors(): ReadonlyMap<string, PollErrorRecord> {
    return this.#errors;
  }
}
