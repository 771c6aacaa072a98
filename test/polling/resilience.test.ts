import { describe, expect, it } from "vitest";
import {
  AtlasDecodeError,
  AtlasHttpError,
  AtlasNetworkError,
  AtlasTimeoutError,
} from "../../src/atlas/errors.js";
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from "../../src/atlas/headers.js";
import type { RestoreJob } from "../../src/atlas/model.js";
import { createLogger } from "../../src/logger.js";
import { logCappedRetryAfter } from "../../src/polling/retry-after-cap.js";
import { Pacer, PollDeferredError, bucketKey } from "../../src/polling/pacer.js";
import { backoffDelay, throttleDelay, withResilience } from "../../src/polling/resilience.js";

const ref = {
  groupId: "32b6e34b3d91647abb20e7b8",
  clusterName: "Cluster0",
  restoreId: "6a793f81d2c4a03c5e4b1f20",
};
const job: RestoreJob = { id: ref.restoreId, status: "RUNNING", rawStatus: "RUNNING" };
const context = { operation: "get flex restore job", target: "/x" };
const http = (status: number, retryAfterMs?: number) =>
  new AtlasHttpError({ status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }, context);

/** A read that fails with the given errors in turn, then answers the job; counts its calls. */
function scripted(errors: Error[]) {
  const calls: number[] = [];
  const read = async () => {
    calls.push(calls.length + 1);
    const error = errors.shift();
    if (error) throw error;
    return job;
  };
  return { read, calls };
}

function setup(
  errors: Error[],
  deadlineInMs = 30_000,
  tuning: { maxTries?: number; random?: number } = {},
) {
  let now = 1_000_000;
  const waits: number[] = [];
  const pacer = new Pacer({
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
  });
  const { read, calls } = scripted(errors);
  // No jitter wait at all (random 0), so that cockatiel's own timers do not slow the test.
  const fetch = withResilience(read, {
    pacer,
    now: () => now,
    random: () => tuning.random ?? 0,
    ...(tuning.maxTries !== undefined ? { maxTries: tuning.maxTries } : {}),
  });
  const run = () =>
    fetch("flex", ref, { signal: new AbortController().signal, deadline: now + deadlineInMs });
  return { run, calls, waits, pacer, now: () => now };
}

async function outcome(promise: Promise<unknown>) {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}

describe("withResilience", () => {
  it.each<[string, Error[], number, "job" | "error"]>([
    ["500 then success", [http(500)], 2, "job"],
    ["502, 504 then success", [http(502), http(504)], 3, "job"],
    ["500 three times", [http(500), http(500), http(500)], 3, "error"],
    ["a network error", [new AtlasNetworkError("ECONNRESET", "reset", context)], 2, "job"],
    ["a timeout", [new AtlasTimeoutError("headers", 30_000, context)], 2, "job"],
    ["429 without Retry-After", [http(429)], 2, "job"],
    ["404: no retry", [http(404)], 1, "error"],
    ["401: no retry here (the client refreshes)", [http(401)], 1, "error"],
    ["410: no retry", [http(410)], 1, "error"],
    ["a decode error: no retry", [new AtlasDecodeError(["x"], context)], 1, "error"],
  ])("%s: %i tries, ends with %s", async (_name, errors, tries, ends) => {
    const { run, calls } = setup(errors);
    const result = await outcome(run());
    expect(calls.length).toBe(tries);
    expect("value" in result ? "job" : "error").toBe(ends);
  });

  it("waits out Retry-After through the pacer, then succeeds", async () => {
    const { run, calls, waits } = setup([http(429, 7_000)]);
    expect(await run()).toEqual(job);
    expect(calls.length).toBe(2);
    expect(waits).toEqual([7_000]);
  });

  it("gives up for this cycle when Retry-After runs past the deadline, and defers the next", async () => {
    const { run, calls, waits, pacer, now } = setup([http(503, 45_000)]);
    const first = await outcome(run());
    expect(first).toMatchObject({ error: { status: 503 } });
    expect(calls.length).toBe(1);
    expect(waits).toEqual([]);
    expect(pacer.notBefore(bucketKey("flex", ref.groupId))).toBe(now() + 45_000);
    // The next cycle, 30 s later, still falls inside the hold: deferred without a request.
    const second = await outcome(run());
    expect((second as { error: unknown }).error).toBeInstanceOf(PollDeferredError);
    expect(calls.length).toBe(1);
  });

  it("after a 429 waits at least Retry-After, then 10 s, 20 s, with up to a quarter of jitter", async () => {
    const plain = setup([http(429, 1_000), http(429, 1_000), http(429, 1_000)], 120_000, {
      maxTries: 4,
    });
    expect(await plain.run()).toEqual(job);
    expect(plain.waits).toEqual([1_000, 10_000, 20_000]);
    const jittered = setup([http(429, 1_000), http(429, 1_000)], 120_000, { random: 0.5 });
    expect(await jittered.run()).toEqual(job);
    expect(jittered.waits).toEqual([1_125, 11_250]);
  });

  it("after a 429 without Retry-After waits 10 s, then 20 s", async () => {
    const { run, waits } = setup([http(429), http(429)], 120_000);
    expect(await run()).toEqual(job);
    expect(waits).toEqual([10_000, 20_000]);
  });

  it("does not retry a transient error when the backoff could pass the deadline", async () => {
    const { run, calls } = setup([http(500)], 1_000);
    expect(await outcome(run())).toMatchObject({ error: { status: 500 } });
    expect(calls.length).toBe(1);
  });
});

describe("throttleDelay", () => {
  it.each([
    [1, 7_000, 0, 7_000],
    [2, 7_000, 0, 10_000],
    [3, 7_000, 0, 20_000],
    [4, 7_000, 0, 40_000],
    [2, 30_000, 0, 30_000],
    [1, undefined, 0, 10_000],
    [2, undefined, 0, 20_000],
    [1, undefined, 0.99, 12_475],
    [1, 0, 0, 0],
  ])(
    "throttle %i with Retry-After %s and random %d waits %i ms",
    (count, retryAfter, random, ms) => {
      expect(throttleDelay(count, retryAfter, random, 10_000)).toBe(ms);
    },
  );
});

describe("backoffDelay", () => {
  it.each([
    [1, 1, 500],
    [2, 1, 1_000],
    [3, 1, 2_000],
    [4, 1, 4_000],
    [5, 1, 4_000],
    [3, 0.25, 500],
    [1, 0, 0],
  ])("try %i with random %d waits %i ms", (attempt, random, expected) => {
    expect(backoffDelay(attempt, random, 500, 4_000)).toBe(expected);
  });
});

describe("an absurd Retry-After", () => {
  it("is cut to an hour, and the cut is logged", () => {
    const now = Date.parse("2026-01-10T12:00:00Z");
    expect(parseRetryAfter("86400", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter("Fri, 01 Jan 2100 00:00:00 GMT", now)).toBe(3_600_000);
    expect(parseRetryAfter("3600", now)).toBe(3_600_000);
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger("info", {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    const seen = (retryAfter: string) =>
      logCappedRetryAfter(
        logger,
        { api: "flex", code: "429", durationSeconds: 0, headers: { "retry-after": retryAfter } },
        now,
      );
    seen("3600");
    seen("86400");
    expect(lines).toMatchObject([
      {
        level: 40,
        event: "retry_after_capped",
        api: "flex",
        code: "429",
        requestedSeconds: 86_400,
        cappedSeconds: 3_600,
      },
    ]);
  });
});
