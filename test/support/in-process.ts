/** Runs the daemon in this process against the simulator, cycles driven by the test. */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Dispatcher } from "undici";
import type { Timeouts } from "../../src/atlas/transport.js";
import type {
  ApiMode,
  Credentials,
  JobSettings,
  Settings,
  WatchEntry,
} from "../../src/config/settings.js";
import { Daemon } from "../../src/commands/daemon.js";
import { createLogger } from "../../src/logger.js";
import type { Simulator } from "../../src/simulator/index.js";
import type { LogLine } from "./daemon-process.js";

/** What a test may choose; everything else has a test-friendly default. */
export interface InProcessOptions {
  readonly jobs: readonly JobSettings[];
  readonly watch?: readonly WatchEntry[];
  readonly finishedRetentionMs?: number;
  /** The daemon's clock; the wall clock by default (the simulator's lets a test move it). */
  readonly now?: () => number;
  readonly credentials: Credentials;
  readonly api?: ApiMode;
  readonly timeouts?: Timeouts;
  readonly stateFile?: string;
  readonly agent?: Dispatcher;
  readonly baseUrl?: string;
  /** `/healthz` fails after this long without a finished cycle. */
  readonly healthStaleAfterMs?: number;
}

/** A started in-process daemon and what it logged. */
export interface InProcessDaemon {
  readonly daemon: Daemon;
  readonly lines: LogLine[];
  readonly stateFile: string;
  /** Runs one poll cycle now and waits for it. */
  cycle(): Promise<void>;
  /** The /metrics exposition, as Prometheus would scrape it. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A daemon clock that follows the simulator's: its time, plus the real time passed since. A test
 * moves it with `sim.advance()`, and waits the daemon makes on its own (a Retry-After) still end.
 */
export function followingClock(sim: Simulator): () => number {
  const started = performance.now();
  return () => sim.now() + Math.floor(performance.now() - started);
}

/** A logger that keeps every line, parsed. */
export function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createLogger("debug", {
    write: (line: string) => {
      lines.push(JSON.parse(line) as LogLine);
    },
  });
  return { logger, lines };
}

/** A fresh state file path in a temporary directory. */
export async function tempStateFile(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), "restore-watch-state-")), "state.json");
}

/** The settings of an in-process daemon: a schedule that never fires during a test. */
export function inProcessSettings(
  sim: Simulator,
  options: InProcessOptions,
  stateFile: string,
): Settings {
  return {
    configFile: undefined,
    schedule: "0 0 1 1 *",
    api: options.api ?? "tenant",
    tenantSunset: Date.parse("2026-01-22T00:00:00Z"),
    listen: { host: "127.0.0.1", port: 0 },
    stateFile,
    concurrency: 4,
    finishedRetentionMs: options.finishedRetentionMs ?? 24 * 3600_000,
    logLevel: "debug",
    baseUrl: options.baseUrl ?? sim.url,
    timeouts: options.timeouts ?? { connectMs: 1_000, headersMs: 1_000, bodyMs: 1_000 },
    credentials: options.credentials,
    jobs: options.jobs,
    watch: options.watch ?? [],
    discoveryIntervalMs: 3_600_000,
    enableLifecycle: false,
    ...(options.healthStaleAfterMs !== undefined
      ? { healthStaleAfterMs: options.healthStaleAfterMs }
      : {}),
  };
}

/** Starts a daemon whose schedule never fires during a test: cycles run on `cycle()`. */
export async function startInProcess(
  sim: Simulator,
  options: InProcessOptions,
): Promise<InProcessDaemon> {
  const { logger, lines } = recordingLogger();
  const stateFile = options.stateFile ?? (await tempStateFile());
  const settings = inProcessSettings(sim, options, stateFile);
  const daemon = new Daemon(settings, {
    logger,
    ...(options.now ? { now: options.now } : {}),
    retry: { initialDelayMs: 10, maxDelayMs: 50, throttleBaseMs: 100 },
    ...(options.agent ? { agent: options.agent } : {}),
  });
  await daemon.start();
  const address = daemon.address;
  if (!address) throw new Error("the daemon did not listen");
  return {
    daemon,
    lines,
    stateFile,
    cycle: () => daemon.pollNow(),
    metrics: async () => {
      const res = await fetch(`http://127.0.0.1:${address.port}/metrics`);
      return res.text();
    },
    stop: () => daemon.stop(),
  };
}

/** The value of one sample of an exposition, if the series is there. */
export function maybeSample(exposition: string, series: string): number | undefined {
  for (const line of exposition.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

/** The value of one sample of an exposition; throws when the series is absent. */
export function sample(exposition: string, series: string): number {
  const value = maybeSample(exposition, series);
  if (value === undefined) throw new Error(`no series ${series} in the exposition`);
  return value;
}

/** `atlas_restore_api_requests_total` of one API, by code. */
export function requestCodes(exposition: string, api: string): Record<string, number> {
  const codes: Record<string, number> = {};
  const re = new RegExp(
    `^atlas_restore_api_requests_total\\{api="${api}",code="([^"]+)"\\} (\\d+)$`,
    "gm",
  );
  for (const match of exposition.matchAll(re)) codes[match[1] as string] = Number(match[2]);
  return codes;
}

/** What changed between two code counts. */
export function codeDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  const delta: Record<string, number> = {};
  for (const [code, n] of Object.entries(after)) {
    const d = n - (before[code] ?? 0);
    if (d > 0) delta[code] = d;
  }
  return delta;
}
