/** Says when Atlas asked for a Retry-After longer than the daemon obeys. */
import { headerValue, MAX_RETRY_AFTER_MS, requestedRetryAfter } from "../atlas/headers.js";
import type { RequestObservation } from "../atlas/transport.js";
import type { Logger } from "../logger.js";

/** Logs `retry_after_capped` when an answer's Retry-After is over MAX_RETRY_AFTER_MS. */
export function logCappedRetryAfter(
  logger: Logger,
  observation: RequestObservation,
  now: number,
): void {
  if (!observation.headers) return;
  const requested = requestedRetryAfter(headerValue(observation.headers, "retry-after"), now);
  if (requested === undefined || requested <= MAX_RETRY_AFTER_MS) return;
  logger.warn(
    {
      event: "retry_after_capped",
      api: observation.api,
      code: observation.code,
      requestedSeconds: Math.round(requested / 1000),
      cappedSeconds: MAX_RETRY_AFTER_MS / 1000,
    },
    "Atlas asked to wait longer than the daemon ever waits; waiting the maximum instead",
  );
}
