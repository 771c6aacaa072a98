import { gunzipSync } from "node:zlib";
/**
 * The built daemon (`node dist/main.js`) as a child process of a benchmark: its JSON log lines,
 * awaited with deadlines, its /metrics endpoint timed from outside, and its memory and CPU time
 * as the kernel counts them. The child gets its own process so that its memory is its own. The
 * bare loop (bare-loop.mjs) runs as such a child too: it speaks JSON lines, and takes commands
 * on its standard input.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { request } from "undici";

/** One parsed stdout line of a child (the bare loop's carry no level or message). */
export type LogLine = Record<string, unknown> & { readonly level: number; readonly msg: string };

/** A line found by `waitForLine`, and where it is in `lines`. */
export interface FoundLine {
  readonly line: LogLine;
  readonly index: number;
}

/** Resident memory of a process, in bytes: now (VmRSS) and the peak so far (VmHWM). */
export interface ProcessMemory {
  readonly rssBytes: number;
  readonly peakRssBytes: number;
}

/** CPU time a process has used so far, in seconds, all threads. */
export interface CpuTimes {
  readonly userSeconds: number;
  readonly systemSeconds: number;
}

/** One timed GET. */
export interface TimedGet {
  readonly ms: number;
  readonly status: number;
  /** The body as text (a gzip answer decompressed after the timing). */
  readonly body: string;
  /** Bytes received. */
  readonly bytes: number;
}

/** How to start a child. */
export interface SpawnOptions {
  /** What errors call it; "the daemon" unless given. */
  readonly name?: string;
  /** Whether `send` may write to its standard input. */
  readonly input?: boolean;
}

/** A running child: the daemon, or the bare loop. */
export class DaemonChild {
  /** Every stdout line so far, parsed. */
  readonly lines: LogLine[] = [];
  /** Resolves with the exit code, or the signal name. */
  readonly exited: Promise<number | string>;
  readonly #child: ChildProcess;
  readonly #name: string;
  readonly #wake = new Set<() => void>();
  #garbage = 0;
  #stderr = "";
  #exitCode: number | string | undefined;

  private constructor(child: ChildProcess, name: string) {
    this.#child = child;
    this.#name = name;
    child.stderr?.on("data", (chunk: Buffer) => (this.#stderr += chunk.toString()));
    createInterface({ input: child.stdout! }).on("line", (text) => {
      try {
        this.lines.push(JSON.parse(text) as LogLine);
      } catch {
        this.#garbage++;
      }
      this.#notify();
    });
    this.exited = new Promise((resolve) =>
      child.on("exit", (code, signal) => {
        this.#exitCode = code ?? signal ?? "unknown";
        resolve(this.#exitCode);
        this.#notify();
      }),
    );
  }

  /** Starts `node <main> <args>` in `cwd` with exactly `env` (no variable of ours leaks in). */
  static spawn(
    main: string,
    args: readonly string[],
    env: Readonly<Record<string, string>>,
    cwd: string,
    options: SpawnOptions = {},
  ): DaemonChild {
    const child = spawn(process.execPath, [main, ...args], {
      cwd,
      env: { ...env },
      stdio: [options.input ? "pipe" : "ignore", "pipe", "pipe"],
    });
    return new DaemonChild(child, options.name ?? "the daemon");
  }

  /** Writes `line` and a newline to the child's standard input (spawned with `input`). */
  send(line: string): void {
    if (!this.#child.stdin) throw new Error(`${this.#name} takes no input`);
    this.#child.stdin.write(`${line}\n`);
  }

  /** Closes the child's standard input (spawned with `input`). */
  endInput(): void {
    this.#child.stdin?.end();
  }

  /** The child's process id. */
  get pid(): number {
    const pid = this.#child.pid;
    if (pid === undefined) throw new Error(`${this.#name} did not start`);
    return pid;
  }

  /** What the child wrote on stderr (the daemon writes there only on a fatal problem). */
  get stderr(): string {
    return this.#stderr;
  }

  /** Stdout lines that were not JSON (the daemon must print none). */
  get garbage(): number {
    return this.#garbage;
  }

  /**
   * The first line at or after `from` that matches, as soon as it is written. Rejects after
   * `timeoutMs`, or when the child exits first, naming `what` and the child's stderr.
   */
  waitForLine(
    predicate: (line: LogLine) => boolean,
    what: string,
    timeoutMs: number,
    from = 0,
  ): Promise<FoundLine> {
    return new Promise((resolve, reject) => {
      let next = from;
      const check = (): boolean => {
        for (; next < this.lines.length; next++) {
          const line = this.lines[next] as LogLine;
          if (predicate(line)) {
            finish();
            resolve({ line, index: next });
            return true;
          }
        }
        if (this.#exitCode !== undefined) {
          finish();
          reject(this.#failure(`${this.#name} exited (${this.#exitCode}) before ${what}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(this.#failure(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.#wake.delete(wake);
      };
      const wake = () => void check();
      if (!check()) this.#wake.add(wake);
    });
  }

  /** The metrics port, from the `daemon_started` line's `listen` field. */
  async port(timeoutMs: number): Promise<number> {
    const { line } = await this.waitForLine(
      (l) => l.event === "daemon_started",
      "daemon_started",
      timeoutMs,
    );
    const port = Number(String(line.listen).split(":").pop());
    if (!Number.isInteger(port) || port <= 0) {
      throw new Error(`daemon_started carries no port: ${JSON.stringify(line.listen)}`);
    }
    return port;
  }

  /** VmRSS and VmHWM from /proc (Linux); undefined where /proc is not there. */
  async memory(): Promise<ProcessMemory | undefined> {
    let status: string;
    try {
      status = await readFile(`/proc/${this.pid}/status`, "utf8");
    } catch {
      return undefined;
    }
    const kib = (field: string): number => {
      const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
      if (!match?.[1]) throw new Error(`/proc/${this.pid}/status has no ${field}`);
      return Number(match[1]) * 1024;
    };
    return { rssBytes: kib("VmRSS"), peakRssBytes: kib("VmHWM") };
  }

  /**
   * CPU time the process has used so far (utime and stime of /proc/PID/stat); undefined where
   * /proc is not there. Read from outside, so that measuring costs the daemon nothing; the
   * resolution is one clock tick (10 ms on Linux).
   */
  async cpuTimes(): Promise<CpuTimes | undefined> {
    let stat: string;
    try {
      stat = await readFile(`/proc/${this.pid}/stat`, "utf8");
    } catch {
      return undefined;
    }
    // The command name (field 2) may hold spaces and parentheses: count fields after its ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the line, 12 and 13 from field 3 on.
    const [utime, stime] = [Number(fields[11]), Number(fields[12])];
    if (!Number.isInteger(utime) || !Number.isInteger(stime)) {
      throw new Error(`/proc/${this.pid}/stat has no utime and stime`);
    }
    return {
      userSeconds: utime / clockTicksPerSecond(),
      systemSeconds: stime / clockTicksPerSecond(),
    };
  }

  /** SIGTERM, then the exit code; SIGKILL and a rejection if it takes longer than `timeoutMs`. */
  async stop(timeoutMs: number): Promise<number | string> {
    if (this.#exitCode !== undefined) return this.#exitCode;
    this.#child.kill("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(() => resolve("late"), timeoutMs);
    });
    const outcome = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (outcome === "late") {
      this.#child.kill("SIGKILL");
      await this.exited;
      throw this.#failure(`${this.#name} did not exit within ${timeoutMs} ms of SIGTERM`);
    }
    return outcome;
  }

  /** Ends the child at once if it still runs (cleanup after a failed run). */
  kill(): void {
    if (this.#exitCode === undefined) this.#child.kill("SIGKILL");
  }

  #notify(): void {
    for (const wake of [...this.#wake]) wake();
  }

  #failure(message: string): Error {
    const stderr = this.#stderr.trim();
    return new Error(stderr ? `${message}; stderr: ${stderr.slice(0, 2000)}` : message);
  }
}

let ticksPerSecond: number | undefined;

/** The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of /proc/PID/stat times. */
function clockTicksPerSecond(): number {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  if (!Number.isInteger(ticksPerSecond) || ticksPerSecond <= 0) {
    throw new Error(`getconf CLK_TCK gave no tick rate`);
  }
  return ticksPerSecond;
}

/**
 * GETs `url` and reads the whole body; `ms` runs from sending to the body's last byte. With
 * `gzip`, it asks as Prometheus does (`Accept-Encoding: gzip`) and decompresses after the timing,
 * as Prometheus does on its side.
 */
export async function timedGet(url: string, timeoutMs: number, gzip = false): Promise<TimedGet> {
  const started = performance.now();
  const response = await request(url, {
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    ...(gzip ? { headers: { "accept-encoding": "gzip" } } : {}),
  });
  const bytes = Buffer.from(await response.body.arrayBuffer());
  const ms = performance.now() - started;
  const body =
    response.headers["content-encoding"] === "gzip"
      ? gunzipSync(bytes).toString("utf8")
      : bytes.toString("utf8");
  return { ms, status: response.statusCode, body, bytes: bytes.length };
}

/** The value of an unlabelled sample in Prometheus exposition text, or undefined. */
export function sampleValue(exposition: string, name: string): number | undefined {
  const match = new RegExp(`^${name} (\\S+)$`, "m").exec(exposition);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
