/** Calendar dates written `YYYY-MM-DD`, read as UTC midnight. */
import { accept, refuse, type Parsed } from "./parsed.js";

const SHAPE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Parses `YYYY-MM-DD` into epoch milliseconds at UTC midnight; refuses dates like 2026-02-30. */
export function parseCalendarDate(text: string): Parsed<number> {
  const match = SHAPE.exec(text);
  if (match === null) return refuse("is not a date in the form YYYY-MM-DD");
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0..99 onto 1900..1999.
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1) {
    return refuse("is not a real calendar date");
  }
  if (date.getUTCDate() !== day) return refuse("is not a real calendar date");
  return accept(date.getTime());
}

/** Formats epoch milliseconds as the UTC calendar date `YYYY-MM-DD`. */
export function formatCalendarDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}
