/** Parsing of the response headers Atlas uses for pacing and for announcing a sunset. */

/**
 * The longest Retry-After obeyed: a longer one (a bug, a date years ahead) would stop polling for
 * that long, so it is cut to an hour (and the daemon logs `retry_after_capped`).
 */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * Parses `Retry-After` (delta-seconds or an HTTP-date, RFC 9110 section 10.2.3) into milliseconds
 * from `now`, at most MAX_RETRY_AFTER_MS. Returns undefined for a missing or unparseable value; a
 * date in the past is 0.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  const requested = requestedRetryAfter(value, now);
  return requested === undefined ? undefined : Math.min(requested, MAX_RETRY_AFTER_MS);
}

/** `Retry-After` in milliseconds from `now` as Atlas sent it, without the cap. */
export function requestedRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = parseHttpDate(trimmed);
  return date === undefined ? undefined : Math.max(0, date - now);
}

/** Parses a non-negative integer header such as `RateLimit-Remaining`. */
export function parseNonNegativeInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/**
 * Parses an HTTP-date (IMF-fixdate, e.g. "Thu, 22 Jan 2026 00:00:00 GMT") to epoch milliseconds.
 * The structured form of RFC 9745 (`@1768953600`) is accepted too, since `Deprecation` uses it.
 */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const structured = /^@(-?\d+)$/.exec(trimmed);
  if (structured) return Number(structured[1]) * 1000;
  if (!IMF_FIXDATE.test(trimmed)) return undefined;
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Reads one header from undici's header record, joining repeated values. */
export function headerValue(
  headers: Record<string, string | string[] | undefined>,
  name: string,
): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(", ") : value;
}
