/**
 * Benchmark of the built daemon at scale: `node dist/main.js` as a child process polls N restore
 * jobs (1,000 by default) on the built simulator over 127.0.0.1, for both credentials (API key
 * Digest, service account) and both families (tenant, flex). It prints how long poll cycles take
 * and how many requests they make, how fast /metrics answers, and how much memory the daemon
 * holds, then checks the requirement's thresholds.
 *
 * Exit code: 0 when every check holds, 1 when a threshold is exceeded or a job read failed, 2
 * when the run itself failed (a deadline passed, the daemon died, or it did not hold every job).
 *
 * Run after `npm run build`: `tsx bench/daemon.ts [--jobs N] [--cycles N] [--scrapes N]
 * [--node-options FLAGS]`.
 */
import { access, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { arch, cpus, platform, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import type * as SimulatorModule from "../src/simulator/index.js";
import type { ScenarioInput, Simulator, SimulatorStats } from "../src/simulator/index.js";
import {
  DaemonChild,
  sampleValue,
  timedGet,
  type ProcessMemory,
  type TimedGet,
} from "./daemon-child.js";

/** The requirement. */
const THRESHOLDS = {
  /** A poll cycle must end well within the default schedule's interval: every 30 s. */
  cycleSeconds: 30,
  /** /metrics must render in under 100 ms (checked on the 95th percentile). */
  metricsP95Ms: 100,
  /** The daemon must stay under 150 MiB resident: its peak (VmHWM) while polled and scraped. */
  peakRssMiB: 150,
} as const;

/** A fast schedule, so that several cycles fit in a short run. */
const SCHEDULE = "*/5 * * * * *";
const INTERVAL_MS = 5_000;
/** Scrapes stop this long before the next scheduled cycle, so that they time the render alone. */
const QUIET_MARGIN_MS = 750;
const STARTUP_TIMEOUT_MS = 30_000;
/** Longest wait for one cycle: the default interval twice over, plus the bench's own interval. */
const CYCLE_TIMEOUT_MS = 2 * THRESHOLDS.cycleSeconds * 1000 + INTERVAL_MS;
const SCRAPE_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 15_000;
const CONCURRENCY = 8;

const DIST = new URL("../dist/", import.meta.url);
const MAIN = fileURLToPath(new URL("main.js", DIST));
const SIMULATOR = new URL("simulator/index.js", DIST).href;

const API_KEY = { publicKey: "benchpublickey", privateKey: "bench-private-key-0000" };
const SERVICE_ACCOUNT = { clientId: "mdb_sa_id_bench0001", clientSecret: "mdb_sa_sk_bench-secret" };

type Auth = "apiKey" | "serviceAccount";
type Family = "tenant" | "flex";

interface Case {
  readonly auth: Auth;
  readonly family: Family;
}

const CASES: readonly Case[] = [
  { auth: "apiKey", family: "tenant" },
  { auth: "apiKey", family: "flex" },
  { auth: "serviceAccount", family: "tenant" },
  { auth: "serviceAccount", family: "flex" },
];

interface Options {
  readonly jobs: number;
  /** Cycles of each phase: polled alone (after the first cycle), then scraped once per cycle. */
  readonly cycles: number;
  readonly scrapes: number;
  /** NODE_OPTIONS of the daemon, e.g. a heap limit to try; empty by default. */
  readonly nodeOptions: string;
}

/** One cycle as the daemon and the simulator saw it. */
interface Cycle {
  /** The daemon's own measure: `seconds` of its poll_cycle_finished line. */
  readonly seconds: number;
  readonly polled: number;
  readonly succeeded: number;
  /** Jobs the daemon put off to a later cycle (its pacer); absent from older builds. */
  readonly deferred: number;
  /** Requests the simulator received during the cycle. */
  readonly requests: number;
  /** Answers other than 200 during the cycle, by status. */
  readonly otherAnswers: Readonly<Record<string, number>>;
}

interface CaseResult {
  readonly name: string;
  readonly cycles: readonly Cycle[];
  /** The daemon's histogram at the end. */
  readonly histogram: { readonly count: number; readonly sum: number };
  readonly skipped: number;
  readonly scrapeMs: readonly number[];
  readonly metricsBytes: number;
  readonly metricsSamples: number;
  /** From /proc after each phase: polling alone, one GET per cycle, the burst of GETs. */
  readonly memory: {
    readonly polling: ProcessMemory | undefined;
    readonly scraped: ProcessMemory | undefined;
    readonly burst: ProcessMemory | undefined;
  };
  /** The daemon's own figures at the end: RSS, V8 heap used and heap total, bytes. */
  readonly reported: {
    readonly rss: number | undefined;
    readonly heapUsed: number | undefined;
    readonly heapTotal: number | undefined;
  };
  /** warn and error lines, by event. */
  readonly warnings: Readonly<Record<string, number>>;
  /** The first few of them, whole. */
  readonly firstWarnings: readonly string[];
  /** What the daemon wrote on stderr (Node's own warnings land there). */
  readonly stderr: string;
}

function name(c: Case): string {
  return `${c.auth}/${c.family}`;
}

/** A 24-hex id: a two-letter prefix, then `n`. */
function hexId(prefix: string, n: number): string {
  return `${prefix}${n.toString(16).padStart(22, "0")}`;
}

/** Job i: 10 jobs per cluster, 10 clusters per project. */
function jobRef(family: Family, i: number) {
  return {
    groupId: hexId("5f", Math.floor(i / 100)),
    clusterName: `${family === "flex" ? "Flex" : "Cluster"}${Math.floor(i / 10) % 10}`,
    restoreId: hexId("6a", i),
  };
}

/** Every job RUNNING from t=0 on, so that every cycle reads every job. */
function scenarioFor(family: Family, jobs: number): ScenarioInput {
  const refs = Array.from({ length: jobs }, (_, i) => jobRef(family, i));
  const clusters = new Map(refs.map((r) => [`${r.groupId}/${r.clusterName}`, r]));
  return {
    apiKeys: [API_KEY],
    serviceAccounts: [SERVICE_ACCOUNT],
    clusters: [...clusters.values()].map((r) => ({
      groupId: r.groupId,
      name: r.clusterName,
      kind: family,
    })),
    jobs: refs.map((r) => ({
      groupId: r.groupId,
      clusterName: r.clusterName,
      id: r.restoreId,
      script: [{ afterSeconds: 0, status: "RUNNING" }],
    })),
  };
}

function credentialsEnv(auth: Auth): Record<string, string> {
  return auth === "apiKey"
    ? {
        MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
        MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey,
      }
    : {
        MONGODB_ATLAS_CLIENT_ID: SERVICE_ACCOUNT.clientId,
        MONGODB_ATLAS_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret,
      };
}

/** Answers other than 200 between two snapshots. */
function otherAnswers(before: SimulatorStats, after: SimulatorStats): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [status, count] of Object.entries(after.byStatus)) {
    const delta = count - (before.byStatus[status] ?? 0);
    if (status !== "200" && delta > 0) result[status] = delta;
  }
  return result;
}

/** Time until the cron expression's next tick, which falls on a multiple of the interval. */
function msToNextTick(now = Date.now()): number {
  return INTERVAL_MS - (now % INTERVAL_MS);
}

function progress(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function runCase(
  c: Case,
  options: Options,
  simulator: typeof SimulatorModule,
): Promise<CaseResult> {
  const sim = await simulator.startSimulator({
    scenario: simulator.parseScenario(scenarioFor(c.family, options.jobs)),
    clock: "real",
  });
  const dir = await mkdtemp(join(tmpdir(), "restore-watch-bench-"));
  let daemon: DaemonChild | undefined;
  try {
    const config = join(dir, "restore-watch.json");
    await writeFile(
      config,
      JSON.stringify({
        schedule: SCHEDULE,
        api: c.family,
        listen: "127.0.0.1:0",
        baseUrl: sim.url,
        concurrency: CONCURRENCY,
        stateFile: join(dir, "state.json"),
        // poll_cycle_finished, with the cycle's own duration, is a debug line.
        logLevel: "debug",
        jobs: Array.from({ length: options.jobs }, (_, i) => jobRef(c.family, i)),
      }),
    );
    // Start just after a tick, so that the first cycle (run at start) ends long before the
    // next one: a cycle still sending at the next tick stops there and defers the rest to a later
    // cycle, which would make the first cycle's figures depend on when the case happened to start.
    await sleep(msToNextTick() + 50);
    // The working directory is the temporary one, so that no .env of ours is read.
    daemon = DaemonChild.spawn(
      MAIN,
      ["--config", config],
      {
        PATH: process.env.PATH ?? "",
        ...credentialsEnv(c.auth),
        ...(options.nodeOptions ? { NODE_OPTIONS: options.nodeOptions } : {}),
      },
      dir,
    );
    return await measure(name(c), daemon, sim, options);
  } finally {
    daemon?.kill();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Watches the cycles, GETs /metrics between them, reads the memory, and stops the daemon. */
async function measure(
  caseName: string,
  daemon: DaemonChild,
  sim: Simulator,
  options: Options,
): Promise<CaseResult> {
  const metricsUrl = `http://127.0.0.1:${await daemon.port(STARTUP_TIMEOUT_MS)}/metrics`;
  const cycles: Cycle[] = [];
  let before = sim.stats();
  let from = 0;
  const nextCycle = async (): Promise<void> => {
    const { line, index } = await daemon.waitForLine(
      (l) => l.event === "poll_cycle_finished",
      `poll cycle ${cycles.length + 1} of ${caseName}`,
      CYCLE_TIMEOUT_MS,
      from,
    );
    from = index + 1;
    const after = sim.stats();
    cycles.push({
      seconds: Number(line.seconds),
      polled: Number(line.polled),
      succeeded: Number(line.succeeded),
      deferred: Number(line.deferred ?? 0),
      requests: after.requests - before.requests,
      otherAnswers: otherAnswers(before, after),
    });
    before = after;
    progress(`${caseName}: cycle ${cycles.length}: ${Number(line.seconds).toFixed(3)} s`);
  };

  const get = async (): Promise<TimedGet> => {
    const got = await timedGet(metricsUrl, SCRAPE_TIMEOUT_MS);
    if (got.status !== 200) throw new Error(`${caseName}: GET /metrics answered ${got.status}`);
    return got;
  };

  // 1. Polling alone: the first cycle runs at start, the schedule runs the others.
  while (cycles.length < options.cycles + 1) await nextCycle();
  const polling = await daemon.memory();

  // 2. In service: one GET of /metrics after each cycle, as a Prometheus scraping at that pace.
  for (let i = 0; i < options.cycles; i++) {
    await nextCycle();
    await get();
  }
  const scraped = await daemon.memory();

  // 3. A burst of GETs, only between cycles so that they time the render and not a cycle.
  const scrapeMs: number[] = [];
  for (;;) {
    while (scrapeMs.length < options.scrapes && msToNextTick() > QUIET_MARGIN_MS) {
      scrapeMs.push((await get()).ms);
    }
    if (scrapeMs.length >= options.scrapes) break;
    await nextCycle();
  }
  const burst = await daemon.memory();

  const exposition = (await timedGet(metricsUrl, SCRAPE_TIMEOUT_MS)).body;
  const samples = exposition.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
  const exported = samples.filter((l) => l.startsWith("atlas_restore_job_info{")).length;
  if (exported !== options.jobs) {
    throw new Error(`${caseName}: /metrics exports ${exported} jobs, expected ${options.jobs}`);
  }
  const code = await daemon.stop(STOP_TIMEOUT_MS);
  if (code !== 0) throw new Error(`${caseName}: the daemon exited with ${code} on SIGTERM`);
  if (daemon.garbage > 0) {
    throw new Error(`${caseName}: the daemon printed ${daemon.garbage} non-JSON lines`);
  }

  const warnings: Record<string, number> = {};
  const firstWarnings: string[] = [];
  for (const l of daemon.lines) {
    if (l.level < 40) continue;
    warnings[String(l.event)] = (warnings[String(l.event)] ?? 0) + 1;
    if (firstWarnings.length < 3) firstWarnings.push(JSON.stringify(l).slice(0, 400));
  }
  const sample = (metric: string) => sampleValue(exposition, metric);
  return {
    name: caseName,
    cycles,
    histogram: {
      count: sample("atlas_restore_poll_cycle_duration_seconds_count") ?? NaN,
      sum: sample("atlas_restore_poll_cycle_duration_seconds_sum") ?? NaN,
    },
    skipped: sample("atlas_restore_poll_cycles_skipped_total") ?? NaN,
    scrapeMs,
    metricsBytes: Buffer.byteLength(exposition),
    metricsSamples: samples.length,
    memory: { polling, scraped, burst },
    reported: {
      rss: sample("process_resident_memory_bytes"),
      heapUsed: sample("nodejs_heap_size_used_bytes"),
      heapTotal: sample("nodejs_heap_size_total_bytes"),
    },
    warnings,
    firstWarnings,
    stderr: daemon.stderr.trim(),
  };
}

/** Nearest-rank percentile of `values` (0 < p <= 100). */
function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ");
  return [line(header), ...rows.map(line)].join("\n");
}

const seconds = (s: number) => s.toFixed(3);
const ms = (v: number) => v.toFixed(1);
const mib = (bytes: number | undefined) =>
  bytes === undefined ? "n/a" : (bytes / 2 ** 20).toFixed(1);

function requestsText(cycle: Cycle | undefined): string {
  if (!cycle) return "n/a";
  const others = Object.entries(cycle.otherAnswers).map(([status, n]) => `${n}x${status}`);
  return others.length > 0 ? `${cycle.requests} (${others.join(", ")})` : String(cycle.requests);
}

/** Job reads that did not succeed over all cycles, and how many of them were deferred. */
function notRead(cycles: readonly Cycle[], jobs: number): { total: number; deferred: number } {
  return {
    total: cycles.reduce((sum, c) => sum + Math.max(0, jobs - c.succeeded), 0),
    deferred: cycles.reduce((sum, c) => sum + c.deferred, 0),
  };
}

function notReadText(cycles: readonly Cycle[], jobs: number): string {
  const { total, deferred } = notRead(cycles, jobs);
  return deferred > 0 ? `${total} (${deferred} deferred)` : String(total);
}

function range(values: readonly number[]): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return low === high ? String(low) : `${low}-${high}`;
}

/** Prints the figures and the verdicts; true when every threshold holds. */
function report(results: readonly CaseResult[], options: Options): boolean {
  const cpu = cpus();
  const out: string[] = [
    `atlas-restore-watch benchmark, ${new Date().toISOString()}`,
    `node ${process.version}, ${platform()} ${arch()}, ${cpu.length} cores (${cpu[0]?.model.trim() ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB`,
    `${options.jobs} jobs, concurrency ${CONCURRENCY}, schedule "${SCHEDULE}"; per case the first cycle and ${options.cycles} more polled alone,`,
    `${options.cycles} cycles with one GET of /metrics after each, then ${options.scrapes} GETs between cycles${options.nodeOptions ? `; daemon NODE_OPTIONS="${options.nodeOptions}"` : ""}`,
    "",
    "Poll cycles: seconds from the daemon's poll_cycle_finished lines (what its histogram observes);",
    "requests the simulator received per cycle, with answers other than 200; job reads that did",
    "not succeed, over all cycles (deferred: put off to a later cycle by the daemon's pacer)",
    table(
      [
        "case",
        "first s",
        "steady min",
        "median",
        "max",
        "hist sum/count",
        "cycles",
        "skipped",
        "req first",
        "req steady",
        "not read",
      ],
      results.map((r) => {
        const steady = r.cycles.slice(1);
        const steadySeconds = steady.map((c) => c.seconds);
        return [
          r.name,
          seconds(r.cycles[0]?.seconds ?? NaN),
          seconds(Math.min(...steadySeconds)),
          seconds(percentile(steadySeconds, 50)),
          seconds(Math.max(...steadySeconds)),
          `${seconds(r.histogram.sum / r.histogram.count)} (${r.histogram.count})`,
          String(r.cycles.length),
          String(r.skipped),
          requestsText(r.cycles[0]),
          steady.every((c) => Object.keys(c.otherAnswers).length === 0)
            ? range(steady.map((c) => c.requests))
            : steady.map(requestsText).join(" "),
          notReadText(r.cycles, options.jobs),
        ];
      }),
    ),
    "",
    "GET /metrics over 127.0.0.1 between cycles, ms from request to the body's last byte",
    table(
      ["case", "GETs", "min", "median", "p95", "max", "body KiB", "samples"],
      results.map((r) => [
        r.name,
        String(r.scrapeMs.length),
        ms(Math.min(...r.scrapeMs)),
        ms(percentile(r.scrapeMs, 50)),
        ms(percentile(r.scrapeMs, 95)),
        ms(Math.max(...r.scrapeMs)),
        (r.metricsBytes / 1024).toFixed(0),
        String(r.metricsSamples),
      ]),
    ),
    "",
    "Daemon memory, MiB: VmRSS and VmHWM (peak so far) from /proc/PID/status after each phase:",
    `polling alone (${options.cycles + 1} cycles), then one GET of /metrics per cycle (${options.cycles} cycles),`,
    `then the burst of ${options.scrapes} GETs; the daemon's own figures at the end`,
    "(process_resident_memory_bytes, nodejs_heap_size_used_bytes, nodejs_heap_size_total_bytes)",
    table(
      [
        "case",
        "polling RSS",
        "peak",
        "+1 GET/cycle RSS",
        "peak",
        "+burst RSS",
        "peak",
        "own RSS",
        "heap used",
        "heap total",
      ],
      results.map((r) => [
        r.name,
        mib(r.memory.polling?.rssBytes),
        mib(r.memory.polling?.peakRssBytes),
        mib(r.memory.scraped?.rssBytes),
        mib(r.memory.scraped?.peakRssBytes),
        mib(r.memory.burst?.rssBytes),
        mib(r.memory.burst?.peakRssBytes),
        mib(r.reported.rss),
        mib(r.reported.heapUsed),
        mib(r.reported.heapTotal),
      ]),
    ),
  ];

  const warned = results.filter((r) => Object.keys(r.warnings).length > 0);
  for (const r of warned) {
    out.push(`warning lines of ${r.name}: ${JSON.stringify(r.warnings)}; the first:`);
    out.push(...r.firstWarnings.map((line) => `  ${line}`));
  }
  for (const r of results.filter((r) => r.stderr !== "")) {
    out.push(`stderr of ${r.name}: ${r.stderr.split("\n")[0]?.slice(0, 200)}`);
  }

  const worstCycle = Math.max(...results.flatMap((r) => r.cycles.map((c) => c.seconds)));
  const worstP95 = Math.max(...results.map((r) => percentile(r.scrapeMs, 95)));
  // In service means polled and scraped at the schedule's pace; no Prometheus scrapes back to
  // back, so the burst's peak is printed but not held to the limit. Without /proc, the daemon's
  // own figure (at the end, not the peak) is all there is.
  const worstPeak = Math.max(
    ...results.map((r) => r.memory.scraped?.peakRssBytes ?? r.reported.rss ?? NaN),
  );
  const burstPeak = Math.max(...results.map((r) => r.memory.burst?.peakRssBytes ?? NaN));
  const unread = results.reduce((sum, r) => sum + notRead(r.cycles, options.jobs).total, 0);
  const checks = [
    {
      what: "job reads that did not succeed",
      value: String(unread),
      limit: "0 (every job, every cycle)",
      ok: unread === 0,
    },
    {
      what: "slowest poll cycle, s",
      value: seconds(worstCycle),
      limit: `< ${THRESHOLDS.cycleSeconds} (the default interval)`,
      ok: worstCycle < THRESHOLDS.cycleSeconds,
    },
    {
      what: "worst p95 of GET /metrics, ms",
      value: ms(worstP95),
      limit: `< ${THRESHOLDS.metricsP95Ms}`,
      ok: worstP95 < THRESHOLDS.metricsP95Ms,
    },
    {
      what: "highest peak RSS in service, MiB",
      value: mib(worstPeak),
      limit: `< ${THRESHOLDS.peakRssMiB}`,
      ok: worstPeak < THRESHOLDS.peakRssMiB * 2 ** 20,
    },
  ];
  out.push(
    "",
    "Thresholds",
    table(
      ["check", "measured", "limit", "verdict"],
      checks.map((c) => [c.what, c.value, c.limit, c.ok ? "PASS" : "FAIL"]),
    ),
    `(not held to a limit: the highest peak RSS after the burst of GETs, ${mib(burstPeak)} MiB)`,
  );
  process.stdout.write(`${out.join("\n")}\n`);
  return checks.every((c) => c.ok);
}

/** The NODE_OPTIONS the image runs the daemon with (its Dockerfile's ENV), "" if none. */
async function imageNodeOptions(): Promise<string> {
  const dockerfile = await readFile(new URL("../Dockerfile", import.meta.url), "utf8");
  const match = /^ENV NODE_OPTIONS=(?:"([^"]*)"|(\S+))$/m.exec(dockerfile);
  return match?.[1] ?? match?.[2] ?? "";
}

async function readOptions(): Promise<Options> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        jobs: { type: "string", default: "1000" },
        cycles: { type: "string", default: "5" },
        scrapes: { type: "string", default: "200" },
        // By default the daemon runs as the image runs it.
        "node-options": { type: "string", default: await imageNodeOptions() },
      },
    }));
  } catch (error) {
    throw new Error(
      `${(error as Error).message} (flags: --jobs N --cycles N --scrapes N --node-options=FLAGS)`,
      { cause: error },
    );
  }
  const positive = (key: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${key} must be a positive integer`);
    return n;
  };
  return {
    jobs: positive("jobs", values.jobs),
    cycles: positive("cycles", values.cycles),
    scrapes: positive("scrapes", values.scrapes),
    nodeOptions: values["node-options"],
  };
}

async function main(): Promise<number> {
  const options = await readOptions();
  try {
    await access(MAIN);
  } catch {
    throw new Error(`${MAIN} is missing: run npm run build first`);
  }
  const simulator = (await import(SIMULATOR)) as typeof SimulatorModule;
  const results: CaseResult[] = [];
  for (const c of CASES) results.push(await runCase(c, options, simulator));
  return report(results, options) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
