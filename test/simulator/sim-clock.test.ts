import { describe, expect, it } from "vitest";
import { createSimClock } from "../../src/simulator/sim-clock.js";

describe("the simulator clock", () => {
  it("manual: moves only through advance()", () => {
    let wall = 1_000;
    const clock = createSimClock("manual", 50_000, () => wall);
    wall += 7_000;
    expect([clock.now(), clock.elapsedSeconds()]).toEqual([50_000, 0]);
    clock.advance(2.5);
    expect([clock.now(), clock.elapsedSeconds()]).toEqual([52_500, 2.5]);
  });

  it("real: follows the wall clock from the start time, plus advances", () => {
    let wall = 1_000;
    const clock = createSimClock("real", 50_000, () => wall);
    wall += 7_000;
    expect(clock.now()).toBe(57_000);
    clock.advance(3);
    expect([clock.now(), clock.elapsedSeconds()]).toEqual([60_000, 10]);
  });

  it.each([-1, Number.NaN, Infinity])("refuses to advance by %s", (seconds) => {
    expect(() => createSimClock("manual", 0).advance(seconds)).toThrow(RangeError);
  });
});
