/** Looks for secret values in collected output: which needle turned up in which haystack. */

/** A value that must not appear anywhere; `name` is what a failure prints instead of the value. */
export interface Needle {
  readonly name: string;
  readonly value: string;
}

/** Some collected output, named after where it came from. */
export interface Haystack {
  readonly name: string;
  readonly text: string;
}

/** One needle found in one haystack, at `index`, with the characters before it for context. */
export interface Leak {
  readonly needle: string;
  readonly haystack: string;
  readonly index: number;
  readonly before: string;
}

/** Every occurrence of every needle, in each haystack; empty when nothing leaked. */
export function findLeaks(haystacks: readonly Haystack[], needles: readonly Needle[]): Leak[] {
  const leaks: Leak[] = [];
  for (const needle of needles) {
    if (needle.value.length < 8) throw new Error(`needle ${needle.name} is too short to scan for`);
    for (const haystack of haystacks) {
      for (
        let index = haystack.text.indexOf(needle.value);
        index !== -1;
        index = haystack.text.indexOf(needle.value, index + 1)
      ) {
        const before = haystack.text.slice(Math.max(0, index - 60), index);
        leaks.push({ needle: needle.name, haystack: haystack.name, index, before });
      }
    }
  }
  return leaks;
}
