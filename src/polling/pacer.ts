/**
 * Paces requests per rate-limit bucket (an endpoint family of one project, as Atlas counts
 * them): no request before a `Retry-After` runs out, and once `RateLimit-Remaining` runs low, the
 * remaining requests are spread over the rate window instead of spending the bucket to zero.
 * A wait that would run past the caller's deadline (the next tick) is refused, so that one
 * throttled project defers its jobs to a later cycle instead of stalling the cycle.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { RATE_LIMIT_SETS } from "../atlas/endpoints.js";
import type { ApiFamily } from "../atlas/model.js";

/** A poll that was not sent, because its bucket would only allow it after the deadline. */
export class PollDeferredError extends Error {
  readonly code = "POLL_DEFERRED";
  /** When the bucket allows the next request, epoch milliseconds. */
  readonly notBefore: number;
  readonly reason: "retry_after" | "rate_limit";

  constructor(bucket: string, notBefore: number, reason: "retry_after" | "rate_limit") {
    super(`${bucket}: next request allowed at ${new Date(notBefore).toISOString()} (${reason})`);
    this.name = "PollDeferredError";
    this.notBefore = notBefore;
    this.reason = reason;
  }
}

/** Tuning of the pacer; every field has a default. */
export interface PacerOptions {
  readonly now?: () => number;
  /** Waits `ms`, or rejects when `signal` aborts. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The window over which Atlas refills a bucket (its documented default is 60 s). */
  readonly windowMs?: number;
  /** Pacing starts when fewer than this share of the bucket is left… */
  readonly lowShare?: number;
  /** …or fewer than this many requests, whichever is more. */
  readonly lowCount?: number;
}

interface Bucket {
  /** No request before this time (Retry-After, or the pacing of a low bucket). */
  notBefore: number;
  reason: "retry_after" | "rate_limit";
  remaining?: number;
  limit?: number;
}

/**
 * The key of a bucket: the rate-limit set of a family (RATE_LIMIT_SETS: dedicated reads share the
 * project's Cloud Backups set) within one project.
 */
export function bucketKey(api: string, groupId: string): string {
  // Built once per family and project: every poll asks for its key.
  let byGroup = bucketKeys.get(api);
  if (byGroup === undefined) {
    byGroup = new Map();
    bucketKeys.set(api, byGroup);
  }
  let key = byGroup.get(groupId);
  if (key === undefined) {
    key = `${RATE_LIMIT_SETS[api as ApiFamily] ?? api}/${groupId}`;
    byGroup.set(groupId, key);
  }
  return key;
}

const bucketKeys = new Map<string, Map<string, string>>();

/** What acquire returns when the request may go at once. */
const NOW = Promise.resolve();

/** Decides when the next request of a bucket may go. */
export class Pacer {
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #windowMs: number;
  readonly #lowShare: number;
  readonly #lowCount: number;

  constructor(options: PacerOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms, signal) => sleep(ms, undefined, { signal }));
    this.#windowMs = options.windowMs ?? 60_000;
    this.#lowShare = options.lowShare ?? 0.1;
    this.#lowCount = options.lowCount ?? 10;
  }

  #bucket(key: string): Bucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { notBefore: 0, reason: "rate_limit" };
      this.#buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Records what Atlas said about a bucket (`RateLimit-Remaining`, `RateLimit-Limit`). */
  observe(key: string, remaining: number | undefined, limit: number | undefined): void {
    if (remaining === undefined) return;
    const bucket = this.#bucket(key);
    bucket.remaining = remaining;
    if (limit !== undefined) bucket.limit = limit;
  }

  /**
   * Holds every request of a bucket until `until` (a Retry-After). Atlas has said when a request
   * may go again, so the pacing of a low bucket waits for the next answer to count again.
   */
  holdUntil(key: string, until: number): void {
    const bucket = this.#bucket(key);
    delete bucket.remaining;
    if (until > bucket.notBefore) {
      bucket.notBefore = until;
      bucket.reason = "retry_after";
    }
  }

  /** When the next request of a bucket may go, epoch milliseconds. */
  notBefore(key: string): number {
    return this.#buckets.get(key)?.notBefore ?? 0;
  }

  #low(bucket: Bucket): boolean {
    if (bucket.remaining === undefined) return false;
    const threshold = Math.max(this.#lowCount, (bucket.limit ?? 0) * this.#lowShare);
    return bucket.remaining < threshold;
  }

  /**
   * Takes the next slot of a bucket and waits for it. Rejects with PollDeferredError, without
   * taking a slot, when it would have to wait past `deadline`. A request that needs no wait
   * goes even after the deadline: a long cycle finishes its work.
   */
  acquire(key: string, deadline: number, signal?: AbortSignal): Promise<void> {
    const bucket = this.#bucket(key);
    const now = this.#now();
    const slot = Math.max(now, bucket.notBefore);
    if (slot > now && slot > deadline) {
      return Promise.reject(new PollDeferredError(key, slot, bucket.reason));
    }
    if (this.#low(bucket)) {
      // Spread what is left over the window; with nothing left, one request per window.
      const remaining = bucket.remaining ?? 0;
      bucket.notBefore = slot + this.#windowMs / Math.max(remaining, 1);
      bucket.reason = "rate_limit";
      bucket.remaining = Math.max(0, remaining - 1);
    }
    return slot > now ? this.#sleep(slot - now, signal) : NOW;
  }
}
