/**
 * The stdout destination as the daemon uses it, in a child process writing to a real pipe: lines
 * written one by one and lines held as a batch (larger than the batch bound, with an early flush)
 * all arrive, whole and in order.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const LOGGER = new URL("../../dist/logger.js", import.meta.url).href;

const SCRIPT = `
const { createLogger, stdoutDestination } = await import(${JSON.stringify(LOGGER)});
const destination = stdoutDestination();
const logger = createLogger("info", destination);
logger.info({ event: "before", n: -1 });
// 6,000 lines of some 500 bytes: about 3 MB, three times the batch bound.
destination.hold((flush) => {
  for (let n = 0; n < 3000; n++) logger.info({ event: "held", n, pad: "x".repeat(440) });
  flush();
  for (let n = 3000; n < 6000; n++) logger.info({ event: "held", n, pad: "x".repeat(440) });
});
logger.info({ event: "after", n: 6000 });
`;

describe("stdoutDestination", () => {
  it("writes every line, held or not, whole and in order", async () => {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ["--input-type=module", "--eval", SCRIPT],
      { maxBuffer: 64 * 1024 * 1024, cwd: fileURLToPath(new URL(".", import.meta.url)) },
    );
    expect(stderr).toBe("");
    const lines = stdout.trimEnd().split("\n");
    const parsed = lines.map((line) => JSON.parse(line) as { event: string; n: number });
    expect(parsed).toHaveLength(6002);
    expect(parsed.map((line) => line.n)).toEqual(Array.from({ length: 6002 }, (_, i) => i - 1));
    expect(parsed[0]?.event).toBe("before");
    expect(parsed.at(-1)?.event).toBe("after");
    expect(new Set(parsed.slice(1, -1).map((line) => line.event))).toEqual(new Set(["held"]));
  });
});
