/**
 * Retries and pacing around one job's poll. 5xx answers, network errors and timeouts are tried
 * again within the cycle with exponential backoff and full jitter, a few times at most. A throttle
 * (429, or 503 with Retry-After) is waited out as Atlas asks: at least its Retry-After, then much
 * longer (10 s, 20 s, 40 s …) with jitter, through the pacer, so that the whole project waits;
 * when that wait would run past the next tick, the poll gives up for this cycle. Other 4xx and
 * bodies that are not the job are not retried. The retry loop itself is cockatiel's.
 */
import { DelegateBackoff, handleWhen, retry } from "cockatiel";
import { AtlasHttpError, AtlasNetworkError, AtlasTimeoutError } from "../atlas/errors.js";
import type { ApiFamily, JobRef, RestoreJob } from "../atlas/model.js";
import { bucketKey, type Pacer } from "./pacer.js";

/** What a poll may use of the cycle: its abort signal and its deadline (the next tick). */
export interface PollContext {
  readonly signal: AbortSignal;
  /** Epoch milliseconds after which nothing more should be sent for this cycle. */
  readonly deadline: number;
}

/** Reads one job once. */
export type ReadJob = (api: ApiFamily, ref: JobRef, signal: AbortSignal) => Promise<RestoreJob>;

/** Reads one job within a cycle, retrying and pacing as needed. */
export type FetchJob = (api: ApiFamily, ref: JobRef, context: PollContext) => Promise<RestoreJob>;

/** Tuning; every field has a default. */
export interface ResilienceOptions {
  readonly pacer: Pacer;
  /** Tries in all, the first included. */
  readonly maxTries?: number;
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** The first of the longer waits after a throttle (10 s, then 20 s, 40 s …). */
  readonly throttleBaseMs?: number;
  readonly now?: () => number;
  /** A number in [0, 1), for the jitter. */
  readonly random?: () => number;
}

/** True for the answers that a later try may get right: 5xx, network errors and timeouts. */
function isTransient(error: unknown): boolean {
  if (error instanceof AtlasHttpError) return error.status >= 500 || error.status === 429;
  return error instanceof AtlasNetworkError || error instanceof AtlasTimeoutError;
}

/** Atlas throttled the request: a 429, or a 503 that says when to come back. */
function isThrottle(error: unknown): error is AtlasHttpError {
  return (
    error instanceof AtlasHttpError &&
    (error.status === 429 || (error.status === 503 && error.retryAfterMs !== undefined))
  );
}

/** Share of a throttle wait added at random on top of it, so that clients do not come back together. */
const THROTTLE_JITTER = 0.25;

/**
 * How long to wait after the `count`-th throttle of one poll (1 for the first): Atlas's advice is
 * at least Retry-After, then much longer waits (10 s, 20 s, 40 s …) with jitter. With Retry-After,
 * the first wait is that; without it, the longer waits start at once. Never less than Retry-After;
 * `random` (in [0, 1)) adds up to a quarter on top.
 */
export function throttleDelay(
  count: number,
  retryAfterMs: number | undefined,
  random: number,
  baseMs: number,
): number {
  const step = retryAfterMs !== undefined ? count - 1 : count;
  const floor = step === 0 ? 0 : baseMs * 2 ** (step - 1);
  const wait = Math.max(floor, retryAfterMs ?? 0);
  return Math.round(wait * (1 + THROTTLE_JITTER * random));
}

/** Full jitter: a random delay up to the exponential cap of try `attempt` (1 for the first retry). */
export function backoffDelay(
  attempt: number,
  random: number,
  initialDelayMs: number,
  maxDelayMs: number,
): number {
  return random * Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
}

/** Runs one read of one rate-limit bucket within a cycle, retrying and pacing as needed. */
export type RunResilient = <T>(
  bucket: string,
  read: (signal: AbortSignal) => Promise<T>,
  context: PollContext,
) => Promise<T>;

/** Wraps `read` with retries within the cycle and pacing per rate-limit bucket. */
export function withResilience(read: ReadJob, options: ResilienceOptions): FetchJob {
  const run = createResilience(options);
  return (api, ref, context) =>
    run(bucketKey(api, ref.groupId), (signal) => read(api, ref, signal), context);
}

/**
 * The retry and pacing policy for any read (a job's GET, a cluster's LIST, a discovery
 * listing): `bucket` names the rate-limit bucket it draws on.
 */
export function createResilience(options: ResilienceOptions): RunResilient {
  const { pacer } = options;
  const maxTries = options.maxTries ?? 3;
  const initialDelayMs = options.initialDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 4_000;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const throttleBaseMs = options.throttleBaseMs ?? 10_000;

  // One policy for every read: whether a failure may be tried again depends on the read (its
  // deadline, its throttles so far), so the attempt that failed decides and notes it with the
  // error. Building a policy per read cost more allocation than the rest of a poll.
  const retryable = new WeakSet<object>();
  const policy = retry(
    handleWhen((error) => typeof error === "object" && error !== null && retryable.has(error)),
    {
      maxAttempts: maxTries - 1,
      backoff: new DelegateBackoff((context) => {
        const failure = context.result;
        // A throttle is waited out by the pacer.
        if ("error" in failure && isThrottle(failure.error)) return 0;
        return backoffDelay(context.attempt, random(), initialDelayMs, maxDelayMs);
      }),
    },
  );

  return <T>(
    key: string,
    read: (signal: AbortSignal) => Promise<T>,
    { signal, deadline }: PollContext,
  ): Promise<T> => {
    // Throttles met by this read so far.
    let throttles = 0;
    return policy.execute(async ({ signal: attemptSignal }) => {
      await pacer.acquire(key, deadline, attemptSignal);
      try {
        return await read(attemptSignal);
      } catch (error) {
        // A throttle's wait goes to the pacer, so that the whole bucket waits; it, or the
        // longest backoff for anything else transient, must end before the deadline.
        let pause = maxDelayMs;
        if (isThrottle(error)) {
          throttles++;
          pause = throttleDelay(throttles, error.retryAfterMs, random(), throttleBaseMs);
          pacer.holdUntil(key, now() + pause);
        }
        if (isTransient(error) && now() + pause < deadline) retryable.add(error as object);
        throw error;
      }
    }, signal);
  };
}
