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

/**
 * Runs `fn` with the log lines it writes held back, then writes them all at once; `fn` may write
 * those held so far earlier, with `flush`.
 */
export type HoldLines = <T>(fn: (flush: () => void) => T) => T;

/** Standard output for log lines, written synchronously, line by line or held as a batch. */
export interface StdoutDestination extends DestinationStream {
  readonly hold: HoldLines;
}

/** Most bytes a held batch gathers before it is written anyway. */
const HOLD_BYTES = 1024 * 1024;

/**
 * Synchronous stdout (sonic-boom, which retries a full pipe). Each line is written at once,
 * except under `hold`: a poll cycle's lines then go out in one write, at the point of the state's
 * save the poller chooses (see poller.ts), so that a kill cannot land between two of them. The
 * held lines are gathered here and joined once: sonic-boom appends each line to its last chunk
 * and measures that chunk again on every write, which at thousands of held lines (a first cycle
 * of 10,000 jobs) costs time that grows with the square of the batch.
 */
export function stdoutDestination(): StdoutDestination {
  const boom = pino.destination({ dest: 1, sync: true, maxWrite: 2 * HOLD_BYTES });
  let held: string[] | undefined;
  let heldBytes = 0;
  const writeHeld = (): void => {
    if (held === undefined || held.length === 0) return;
    const batch = held.join("");
    held = [];
    heldBytes = 0;
    boom.write(batch);
    boom.flushSync();
  };
  return {
    write(line: string) {
      if (held === undefined) {
        boom.write(line);
        boom.flushSync();
        return;
      }
      held.push(line);
      heldBytes += line.length;
      if (heldBytes >= HOLD_BYTES) writeHeld();
    },
    hold(fn) {
      held = [];
      try {
        return fn(writeHeld);
      } finally {
        writeHeld();
        held = undefined;
      }
    },
  };
}

/** Creates the process logger; `destination` defaults to synchronous stdout. */
export function createLogger(
  level: string,
  destination: DestinationStream = stdoutDestination(),
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
