/**
 * The JSON logger: pino writing synchronously to stdout, so a line is out before the next step
 * (a status change is logged right after the state that records it is saved). Credentials and
 * Authorization headers are redacted wherever they might appear.
 */
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger } from "pino";

/** Paths censored in every line, whatever logged them. */
export const REDACTED_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "password",
  "*.password",
  "clientSecret",
  "*.clientSecret",
  "privateKey",
  "*.privateKey",
  "token",
  "*.token",
  "access_token",
  "*.access_token",
];

/** Creates the process logger; `destination` defaults to synchronous stdout. */
export function createLogger(
  level: string,
  destination: DestinationStream = pino.destination({ dest: 1, sync: true }),
): Logger {
  return pino(
    {
      level,
      base: { service: "atlas-restore-watch" },
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      formatters: { level: (_label, number) => ({ level: number }) },
    },
    destination,
  );
}
