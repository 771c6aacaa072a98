import { describe, expect, it } from "vitest";
import { Slots } from "../src/slots.js";

function held<T>(slots: Slots<T>): T[] {
  const values: T[] = [];
  slots.forEach((value) => values.push(value));
  return values;
}

describe("Slots", () => {
  it("holds values until released, and gives a released slot to the next value", () => {
    const slots = new Slots<string>();
    const a = slots.hold("a");
    const b = slots.hold("b");
    expect([a, b]).toEqual([0, 1]);
    expect(slots.includes("a")).toBe(true);

    slots.release(a);
    expect(slots.includes("a")).toBe(false);
    expect(held(slots)).toEqual(["b"]);

    // The freed slot is reused rather than a new one added.
    expect(slots.hold("c")).toBe(a);
    expect(slots.hold("d")).toBe(2);
    expect(held(slots)).toEqual(["c", "b", "d"]);
    expect(slots.includes("a")).toBe(false);
  });

  it("lets forEach release what it visits, as an abort of every exchange does", () => {
    const slots = new Slots<string>();
    const index = new Map(["x", "y", "z"].map((value) => [value, slots.hold(value)]));
    const visited: string[] = [];
    slots.forEach((value) => {
      visited.push(value);
      slots.release(index.get(value)!);
    });
    expect(visited).toEqual(["x", "y", "z"]);
    expect(held(slots)).toEqual([]);
    expect(["x", "y", "z"].map((value) => slots.includes(value))).toEqual([false, false, false]);
  });
});
