/** Runs the built daemon (`node dist/main.js`) as a child process and reads its JSON lines. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { waitFor } from "./fixtures.js";

/** The built entry point, as the container runs it. */
export const MAIN = fileURLToPath(new URL("../../dist/main.js", import.meta.url));

/** One parsed stdout line. */
export type LogLine = Record<string, unknown> & { level: number; msg: string };

/** A running daemon process. */
export interface DaemonProcess {
  readonly child: ChildProcess;
  /** Every stdout line so far, parsed. */
  readonly lines: LogLine[];
  /** Raw stdout lines that were not JSON (must stay empty). */
  readonly garbage: string[];
  stderr(): string;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  /** Waits for a line matching `predicate`, counting from line `from`. */
  waitForLine(predicate: (line: LogLine) => boolean, what: string, from?: number): Promise<LogLine>;
  /** The metrics port, from the daemon_started line. */
  port(): Promise<number>;
}

/** Writes a config file into a fresh temporary directory; returns the directory and file. */
export async function writeConfig(config: Record<string, unknown>, dir?: string) {
  const folder = dir ?? (await mkdtemp(join(tmpdir(), "restore-watch-e2e-")));
  const file = join(folder, "restore-watch.yaml");
  await writeFile(file, stringify(config));
  return { dir: folder, file };
}

/** Starts `node dist/main.js` with only the given environment (plus PATH), in `cwd` if given. */
export function spawnDaemon(
  args: readonly string[],
  env: Record<string, string>,
  cwd?: string,
): DaemonProcess {
  const child = spawn(process.execPath, [MAIN, ...args], {
    ...(cwd === undefined ? {} : { cwd }),
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: LogLine[] = [];
  const garbage: string[] = [];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      lines.push(JSON.parse(line) as LogLine);
    } catch {
      garbage.push(line);
    }
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
  );
  const waitForLine = (predicate: (line: LogLine) => boolean, what: string, from = 0) =>
    waitFor(() => lines.slice(from).find(predicate), `${what}; stderr: ${stderr}`, 15_000);
  return {
    child,
    lines,
    garbage,
    stderr: () => stderr,
    exited,
    waitForLine,
    async port() {
      const started = await waitForLine((l) => l.event === "daemon_started", "daemon_started");
      return Number(String(started.listen).split(":").pop());
    },
  };
}
