/**
 * One run of the built daemon as a child process, keeping its raw stdout and stderr (for the
 * secret scan) as well as its parsed JSON lines (for the transition checks).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { MAIN, type LogLine } from "../support/daemon-process.js";

/** A running (or finished) daemon process. */
export interface DaemonRun {
  readonly child: ChildProcess;
  /** Every complete stdout line so far, parsed. */
  readonly lines: LogLine[];
  /** Raw stdout lines that were not JSON objects (must stay empty). */
  readonly garbage: string[];
  stdout(): string;
  stderr(): string;
  /**
   * Resolves once the process has exited and both pipes are drained, with the exit code or the
   * signal name. Lines written before a SIGKILL are still in the pipe and are read by then.
   */
  readonly closed: Promise<number | string>;
  /** True once `closed` has resolved. */
  isClosed(): boolean;
  /** Resolves with the first line (from line `from` on) matching `predicate`; rejects after `timeoutMs`. */
  waitForLine(
    predicate: (line: LogLine) => boolean,
    what: string,
    timeoutMs?: number,
    from?: number,
  ): Promise<LogLine>;
}

/** Starts `node dist/main.js args` with only `env` (plus PATH), in `cwd` if given. */
export function startDaemonRun(
  args: readonly string[],
  env: Record<string, string>,
  options: { readonly cwd?: string } = {},
): DaemonRun {
  const child = spawn(process.execPath, [MAIN, ...args], {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: LogLine[] = [];
  const garbage: string[] = [];
  const waiters = new Set<() => void>();
  let stdout = "";
  let stderr = "";
  let pending = "";
  let closed = false;
  const take = (line: string) => {
    if (line === "") return;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        lines.push(parsed as LogLine);
      } else garbage.push(line);
    } catch {
      garbage.push(line);
    }
  };
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    stdout += chunk;
    const parts = (pending + chunk).split("\n");
    pending = parts.pop() ?? "";
    for (const part of parts) take(part);
    for (const wake of waiters) wake();
  });
  child.stderr?.on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<number | string>((resolve) => {
    child.on("close", (code, signal) => {
      // A line cut short by the end of the stream is kept as garbage, never dropped.
      take(pending);
      pending = "";
      closed = true;
      for (const wake of waiters) wake();
      resolve(code ?? signal ?? "unknown");
    });
  });

  const waitForLine = (
    predicate: (line: LogLine) => boolean,
    what: string,
    timeoutMs = 15_000,
    from = 0,
  ): Promise<LogLine> =>
    new Promise<LogLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stderr: ${stderr}`));
      }, timeoutMs);
      const check = () => {
        const found = lines.slice(from).find(predicate);
        if (found === undefined && !closed) return;
        waiters.delete(check);
        clearTimeout(timer);
        if (found !== undefined) resolve(found);
        else reject(new Error(`the daemon ended before ${what}; stderr: ${stderr}`));
      };
      waiters.add(check);
      check();
    });

  return {
    child,
    lines,
    garbage,
    stdout: () => stdout,
    stderr: () => stderr,
    closed: done,
    isClosed: () => closed,
    waitForLine,
  };
}

/** Sends `signal` unless the process is gone, then waits (at most `timeoutMs`) for it to close. */
export async function stopRun(
  run: DaemonRun,
  signal: NodeJS.Signals,
  timeoutMs = 15_000,
): Promise<number | string> {
  if (!run.isClosed()) run.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the daemon did not close within ${timeoutMs} ms of ${signal}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([run.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Last-resort cleanup for afterAll: SIGKILL whatever still runs and wait for it to close. */
export async function killAll(runs: Iterable<DaemonRun>): Promise<void> {
  await Promise.all([...runs].map((run) => stopRun(run, "SIGKILL", 5_000).catch(() => undefined)));
}
