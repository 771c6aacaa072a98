/**
 * Retries and pacing around one job's poll. 5xx answers, network errors and timeouts are tried
 * again within the cycle with exponential backoff and full jitter, a few times at most; 429 and
 * 503 wait for Atlas's Retry-After through the pacer, or give up for this cycle when that wait
 * would run past the next tick. Other 4xx and bodies that are not the job are not retried.
 * The retry loop itself is cockatiel's.
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
  readonly now?: () => number;
  /** A number in [0, 1), for the jitter. */
  readonly random?: () => number;
}

/** True for the answers that a later try may get right: 5xx, network errors and timeouts. */
function isTransient(error: unknown): boolean {
  if (error instanceof AtlasHttpError) return error.status >= 500 || error.status === 429;
  return error instanceof AtlasNetworkError || error instanceof AtlasTimeoutError;
}

/** Atlas asked for a pause: 429, or 503, with Retry-After. */
function retryAfterOf(error: unknown): number | undefined {
  return error instanceof AtlasHttpError && (error.status === 429 || error.status === 503)
    ? error.retryAfterMs
    : undefined;
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

  return <T>(
    key: string,
    read: (signal: AbortSignal) => Promise<T>,
    { signal, deadline }: PollContext,
  ): Promise<T> => {
    const policy = retry(
      handleWhen((error) => {
        if (!isTransient(error)) return false;
        // A pause Atlas asked for is waited out by the pacer, if it ends before the deadline.
        const pause = retryAfterOf(error) ?? maxDelayMs;
        return now() + pause < deadline;
      }),
      {
        maxAttempts: maxTries - 1,
        backoff: new DelegateBackoff((context) => {
          const failure = context.result;
          if ("error" in failure && retryAfterOf(failure.error) !== undefined) return 0;
          return backoffDelay(context.attempt, random(), initialDelayMs, maxDelayMs);
        }),
      },
    );
    return policy.execute(async ({ signal: attemptSignal }) => {
      await pacer.acquire(key, deadline, attemptSignal);
      try {
        return await read(attemptSignal);
      } catch (error) {
        const pause = retryAfterOf(error);
        if (pause !== undefined) pacer.holdUntil(key, now() + pause);
        throw error;
      }
    }, signal);
  };
}
