/** Durations written like `90s`, `15m`, `24h`, `7d` or compound `1h30m`, as milliseconds. */
import { accept, refuse, type Parsed } from "./parsed.js";

const UNITS = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
  ["ms", 1],
] as const;

const SYNTAX = /^(?:\d+(?:ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

/** The refusal for text that is not a duration; shared so every duration key words it alike. */
export const NOT_A_DURATION = "is not a duration like 90s, 15m, 24h or 7d";

/**
 * Parses a duration: one or more `<integer><unit>` parts, units `d h m s ms` from largest to
 * smallest, each at most once. A bare number has no unit and is refused.
 */
export function parseDuration(text: string): Parsed<number> {
  if (!SYNTAX.test(text)) return refuse(NOT_A_DURATION);
  let total = 0;
  let previousRank = -1;
  for (const [, digits = "", unit = ""] of text.matchAll(PART)) {
    const rank = UNITS.findIndex(([name]) => name === unit);
    const entry = UNITS[rank];
    if (entry === undefined || rank <= previousRank) return refuse(NOT_A_DURATION);
    previousRank = rank;
    total += Number(digits) * entry[1];
  }
  if (!Number.isSafeInteger(total)) return refuse("is too long a duration");
  return accept(total);
}

/** Parses a duration that must be above zero and, when `maxMs` is given, at most `maxMs`. */
export function parsePositiveDuration(text: string, maxMs?: number): Parsed<number> {
  const parsed = parseDuration(text);
  if (!parsed.ok) return parsed;
  if (parsed.value === 0) return refuse("is not a positive duration");
  if (maxMs !== undefined && parsed.value > maxMs) {
    return refuse(`is longer than the ${formatDuration(maxMs)} maximum`);
  }
  return parsed;
}

/** Formats milliseconds the way `parseDuration` reads them, largest units first (`1m30s`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  let rest = ms;
  let text = "";
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      text += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return text;
}
