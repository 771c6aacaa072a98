import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { cycleStartJitterMs } from "../../src/polling/cycle-jitter.js";
import { Scheduler } from "../../src/polling/scheduler.js";
import { waitFor } from "../support/fixtures.js";

const logs: Record<string, unknown>[] = [];
const logger = pino({ level: "debug" }, { write: (line: string) => logs.push(JSON.parse(line)) });
let scheduler: Scheduler | undefined;

afterEach(async () => {
  await scheduler?.stop(1_000);
  scheduler = undefined;
  logs.length = 0;
});

describe("Scheduler", () => {
  it("runs the first cycle at start, then on the schedule, with the next tick as deadline", async () => {
    const runs: { at: number; deadline: number }[] = [];
    scheduler = new Scheduler({
      schedule: "* * * * * *",
      runCycle: async (_signal, deadline) => {
        runs.push({ at: Date.now(), deadline });
      },
      onSkipped: () => undefined,
      logger,
    });
    await scheduler.start();
    expect(runs).toHaveLength(1);
    await waitFor(() => (runs.length >= 3 ? true : undefined), "two scheduled cycles");
    for (const run of runs) {
      expect(run.deadline).toBeGreaterThan(run.at);
      expect(run.deadline - run.at).toBeLessThanOrEqual(1_000);
      expect(run.deadline % 1_000).toBe(0);
    }
  });

  it("delays each scheduled cycle by the jitter it draws from the gap to the next tick", async () => {
    const ticks: { gap: number; at: number }[] = [];
    const starts: number[] = [];
    scheduler = new Scheduler({
      schedule: "* * * * * *",
      runCycle: async () => {
        starts.push(Date.now());
      },
      onSkipped: () => undefined,
      logger,
      startJitterMs: (gap) => {
        ticks.push({ gap, at: Date.now() });
        return 400;
      },
    });
    await scheduler.start();
    // The first cycle, at start, is not delayed and draws nothing.
    expect(ticks).toEqual([]);
    await waitFor(() => (starts.length >= 3 ? true : undefined), "two scheduled cycles");
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    for (const [k, tick] of ticks.slice(0, 2).entries()) {
      expect(tick.gap).toBeGreaterThan(0);
      expect(tick.gap).toBeLessThanOrEqual(1_000);
      expect(starts[k + 1]! - tick.at).toBeGreaterThanOrEqual(390);
    }
  });

  it("draws a start delay of at most a tenth of the gap and at most 10 s", () => {
    expect(cycleStartJitterMs(30_000, 0.5)).toBe(1_500);
    expect(cycleStartJitterMs(30_000, 0.999)).toBeLessThan(3_000);
    expect(cycleStartJitterMs(3_600_000, 0.999)).toBeLessThan(10_000);
    expect(cycleStartJitterMs(3_600_000, 0.5)).toBe(5_000);
    expect(cycleStartJitterMs(-5, 0.5)).toBe(0);
  });

  it("never runs two cycles at once: a tick during a cycle is skipped, logged and counted", async () => {
    let release: () => void = () => undefined;
    let running = 0;
    let maxRunning = 0;
    let skipped = 0;
    scheduler = new Scheduler({
      schedule: "* * * * * *",
      runCycle: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise<void>((resolve) => (release = resolve));
        running--;
      },
      onSkipped: () => skipped++,
      logger,
    });
    const started = scheduler.start();
    await waitFor(() => (skipped >= 2 ? true : undefined), "two skipped ticks", 5_000);
    release();
    await started;
    expect(maxRunning).toBe(1);
    expect(logs.filter((l) => l.event === "poll_cycle_skipped")).toHaveLength(skipped);
    expect(logs.find((l) => l.event === "poll_cycle_skipped")).toMatchObject({ level: 40 });
  });

  it("logs a failed cycle and goes on", async () => {
    let calls = 0;
    scheduler = new Scheduler({
      schedule: "* * * * * *",
      runCycle: async () => {
        calls++;
        if (calls === 1) throw new Error("boom");
      },
      onSkipped: () => undefined,
      logger,
    });
    await scheduler.start();
    expect(logs.filter((l) => l.event === "poll_cycle_failed")).toMatchObject([
      { level: 50, error: "boom" },
    ]);
    await waitFor(() => (calls >= 2 ? true : undefined), "the next cycle");
  });

  it("aborts a cycle that outlives the grace period on stop", async () => {
    let aborted = false;
    let running = false;
    const local = new Scheduler({
      schedule: "0 0 1 1 *",
      runCycle: (signal) =>
        new Promise<void>((resolve) => {
          running = true;
          signal.addEventListener("abort", () => {
            aborted = true;
            resolve();
          });
        }),
      onSkipped: () => undefined,
      logger,
    });
    const started = local.start();
    await waitFor(() => (running ? true : undefined), "the first cycle");
    await local.stop(50);
    await started;
    expect(aborted).toBe(true);
  });

  it("starts no cycle once stopped, even when stopped while starting", async () => {
    let cycles = 0;
    const local = new Scheduler({
      schedule: "* * * * * *",
      runCycle: async () => {
        cycles++;
      },
      onSkipped: () => undefined,
      logger,
    });
    const started = local.start();
    await local.stop(50);
    await started;
    await local.trigger();
    expect(cycles).toBe(0);
  });
});
