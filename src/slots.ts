/**
 * Values held in numbered slots that are reused once released. For what is added and removed on
 * every request or poll and must be found again (to abort it, to skip its target): neither a Set
 * nor an event listener per value would do, as both keep garbage alive. V8 links each table a Set
 * outgrows to the table that replaces it, which a Set that keeps adding and deleting does every
 * few values; Node links an event listener to the one added after it and does not unlink it when
 * removed. Once one such link reaches the old generation, through a collection while it is in
 * use, every later one survives the young generation's collections through it, with what it
 * holds: at 10,000 jobs that cost several full collections per poll cycle. Here a released slot
 * holds nothing, and holding and releasing allocate nothing once the slots exist.
 */
export class Slots<T> {
  readonly #slots: (T | undefined)[] = [];
  /** Indexes of the empty slots. */
  readonly #free: number[] = [];

  /** Holds `value` until `release` with the slot returned. */
  hold(value: T): number {
    const slot = this.#free.pop() ?? this.#slots.length;
    this.#slots[slot] = value;
    return slot;
  }

  /** Empties a slot `hold` returned; once per hold. */
  release(slot: number): void {
    this.#slots[slot] = undefined;
    this.#free.push(slot);
  }

  /** Whether a slot holds `value`: a scan, for the few values held at once. */
  includes(value: T): boolean {
    return this.#slots.includes(value);
  }

  /** Calls `fn` with every value held. */
  forEach(fn: (value: T) => void): void {
    for (const value of this.#slots) if (value !== undefined) fn(value);
  }
}
