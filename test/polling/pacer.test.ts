import { describe, expect, it } from "vitest";
import { Pacer, PollDeferredError, bucketKey } from "../../src/polling/pacer.js";

/** A pacer on a fake clock whose sleeps advance the clock and are recorded. */
function fakePacer(options: { windowMs?: number; lowCount?: number; lowShare?: number } = {}) {
  let now = 1_000_000;
  const waits: number[] = [];
  const pacer = new Pacer({
    ...options,
    now: () => now,
    sleep: async (ms) => {
      waits.push(ms);
      now += ms;
    },
  });
  return { pacer, waits, advance: (ms: number) => (now += ms), now: () => now };
}

const key = bucketKey("flex", "32b6e34b3d91647abb20e7b8");

describe("Pacer", () => {
  it("lets requests go at once while the bucket is healthy", async () => {
    const { pacer, waits, now } = fakePacer();
    pacer.observe(key, 500, 1200);
    for (let i = 0; i < 5; i++) await pacer.acquire(key, now() + 30_000);
    expect(waits).toEqual([]);
  });

  it("spreads the rest of a low bucket over the window", async () => {
    const { pacer, waits, now } = fakePacer({ windowMs: 60_000 });
    pacer.observe(key, 4, 100);
    for (let i = 0; i < 3; i++) await pacer.acquire(key, now() + 120_000);
    // 4 left: 15 s apart; then 3 left: 20 s; the first goes at once.
    expect(waits).toEqual([15_000, 20_000]);
  });

  it("uses the larger of the share and the count as the low mark", async () => {
    const { pacer, waits, now } = fakePacer({ lowShare: 0.1, lowCount: 10 });
    pacer.observe(key, 50, 1200); // 50 < 120: low
    await pacer.acquire(key, now() + 30_000);
    await pacer.acquire(key, now() + 30_000);
    expect(waits).toEqual([60_000 / 50]);
  });

  it("holds a bucket until Retry-After runs out", async () => {
    const { pacer, waits, now } = fakePacer();
    pacer.holdUntil(key, now() + 7_000);
    await pacer.acquire(key, now() + 30_000);
    expect(waits).toEqual([7_000]);
    expect(pacer.notBefore(bucketKey("tenant", "32b6e34b3d91647abb20e7b8"))).toBe(0);
  });

  it("defers, without taking a slot, when the wait runs past the deadline", async () => {
    const { pacer, waits, now, advance } = fakePacer();
    const until = now() + 45_000;
    pacer.holdUntil(key, until);
    const error = await pacer.acquire(key, now() + 30_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PollDeferredError);
    expect(error).toMatchObject({ code: "POLL_DEFERRED", notBefore: until, reason: "retry_after" });
    expect(waits).toEqual([]);
    advance(45_000);
    await pacer.acquire(key, now() + 30_000);
    expect(waits).toEqual([]);
  });

  it("lets Retry-After, not an empty bucket, decide when to ask again", async () => {
    const { pacer, waits, now } = fakePacer({ windowMs: 60_000 });
    pacer.observe(key, 0, 100); // the 429's RateLimit-Remaining
    pacer.holdUntil(key, now() + 2_000);
    await pacer.acquire(key, now() + 30_000);
    await pacer.acquire(key, now() + 30_000);
    expect(waits).toEqual([2_000]);
  });

  it("sends a request that needs no wait even past the deadline", async () => {
    const { pacer, waits, now } = fakePacer();
    await pacer.acquire(key, now() - 1_000);
    expect(waits).toEqual([]);
  });

  it("never shortens a hold", () => {
    const { pacer, now } = fakePacer();
    pacer.holdUntil(key, now() + 10_000);
    pacer.holdUntil(key, now() + 5_000);
    expect(pacer.notBefore(key)).toBe(now() + 10_000);
  });
});

describe("bucketKey: Atlas's rate-limit sets per project", () => {
  it.each([
    ["dedicated", "cloudBackups/32b6e34b3d91647abb20e7b8"],
    ["flex", "flexRestoreJobs/32b6e34b3d91647abb20e7b8"],
    ["tenant", "tenantRestores/32b6e34b3d91647abb20e7b8"],
  ])("%s draws on %s", (api, key) => {
    expect(bucketKey(api, "32b6e34b3d91647abb20e7b8")).toBe(key);
  });

  it("a Retry-After on dedicated reads holds that project's Cloud Backups only", () => {
    const pacer = new Pacer({ now: () => 1_000 });
    pacer.holdUntil(bucketKey("dedicated", "32b6e34b3d91647abb20e7b8"), 61_000);
    expect(pacer.notBefore("cloudBackups/32b6e34b3d91647abb20e7b8")).toBe(61_000);
    expect(pacer.notBefore(bucketKey("flex", "32b6e34b3d91647abb20e7b8"))).toBe(0);
    expect(pacer.notBefore(bucketKey("dedicated", "5f0a1b2c3d4e5f6a7b8c9d0e"))).toBe(0);
  });
});
