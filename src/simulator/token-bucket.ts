/** Atlas-style rate limiting: one token bucket per key, refilled continuously on simulator time. */

/** The state of one bucket after a request, for the `RateLimit-*` headers. */
export interface BucketState {
  readonly allowed: boolean;
  readonly limit: number;
  readonly remaining: number;
  /** Whole seconds until one token is back (only when not allowed). */
  readonly retryAfterSeconds?: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Token buckets keyed by any string, e.g. groupId and API family. */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly capacity: number,
    private readonly refillPerMinute: number,
  ) {}

  /** Takes one token from `key`'s bucket at time `now` (epoch ms) if there is one. */
  take(key: string, now: number): BucketState {
    return this.visit(key, now, true);
  }

  /** Reports `key`'s bucket without taking a token. */
  peek(key: string, now: number): BucketState {
    return this.visit(key, now, false);
  }

  private visit(key: string, now: number, take: boolean): BucketState {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.capacity, updatedAt: now };
      this.buckets.set(key, bucket);
    }
    const elapsedMs = Math.max(0, now - bucket.updatedAt);
    bucket.tokens = Math.min(
      this.capacity,
      bucket.tokens + (elapsedMs * this.refillPerMinute) / 60_000,
    );
    bucket.updatedAt = Math.max(bucket.updatedAt, now);
    const limit = Math.floor(this.capacity);
    if (!take || bucket.tokens >= 1) {
      if (take) bucket.tokens -= 1;
      return { allowed: true, limit, remaining: Math.floor(bucket.tokens) };
    }
    const perSecond = this.refillPerMinute / 60;
    const retryAfterSeconds =
      perSecond > 0 ? Math.max(1, Math.ceil((1 - bucket.tokens) / perSecond)) : 3600;
    return { allowed: false, limit, remaining: 0, retryAfterSeconds };
  }
}

/** The `RateLimit-Limit` and `RateLimit-Remaining` headers of a bucket state. */
export function rateLimitHeaders(state: BucketState): Record<string, string> {
  return { "ratelimit-limit": String(state.limit), "ratelimit-remaining": String(state.remaining) };
}
