/**
 * Benchmark of `/metrics` at scale: N realistic job states (10,000 by default) served by the
 * daemon's own metrics and HTTP server, and a client in a child process that times GETs from the
 * request to the body's last byte, as bench/daemon.ts does. It prints the median time of the
 * render and of a GET (plain and gzip), next to bare baselines measured in the same run, the body
 * sizes, and this process's heap and RSS.
 *
 * Scrapes are timed with nothing changed since the last (as when two Prometheus replicas scrape
 * one daemon), and after a poll cycle, which gives every job a new lastSuccessAt (as the
 * poller does, in place, keeping the job's state), moves 20 of the unfinished jobs (the newest
 * 5%) a status on, and lets the 5 oldest jobs go (past the retention) and 5 new ones
 * come. A stress cycle also moves 1% of all jobs, spread through the list, to another status.
 *
 * Run after `npm ci`, with the image's heap options:
 * `NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=128" npx tsx
 * bench/metrics-render.ts [--jobs N] [--runs N]`.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { pino } from "pino";
import { request } from "undici";
import { createMetrics } from "../src/http/metrics.js";
import { startServer } from "../src/http/server.js";
import type { StatusSnapshot } from "../src/http/status-snapshot.js";
import type { RestoreStatus } from "../src/atlas/model.js";
import type { JobState, TrackedRecord } from "../src/tracker/job-state.js";

/** A tracked job, as the poller keeps it. */
type Job = TrackedRecord;

const { values } = parseArgs({
  options: { jobs: { type: "string", default: "10000" }, runs: { type: "string", default: "20" } },
});
const JOBS = Number(values.jobs);
const RUNS = Number(values.runs);

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** The memory in use once garbage is collected, buffers' memory included (freed after a GC). */
async function memoryInUse(): Promise<NodeJS.MemoryUsage> {
  gc();
  await sleep(100);
  gc();
  return process.memoryUsage();
}

const T0 = Date.parse("2026-12-01T10:00:00Z");
const RETENTION_MS = 24 * 3600_000;
const CYCLE_MS = 30_000;

function hex(n: number, width = 24): string {
  return n.toString(16).padStart(width, "0");
}

/** The share of jobs, the newest, not finished yet. */
const UNFINISHED = 0.05;
/** Unfinished jobs moved a status on, and jobs that leave and come, in each cycle. */
const MOVED = 20;
const CHURN = 5;
const NEXT: Partial<Record<RestoreStatus, RestoreStatus>> = {
  PENDING: "QUEUED",
  QUEUED: "RUNNING",
  RUNNING: "COMPLETED",
};

/** Job number n: 10 jobs a cluster, 10 clusters a project; 90% Flex, 10% dedicated. */
function makeJob(n: number, now: number, status: RestoreStatus): Job {
  const dedicated = n % 10 === 9;
  const terminal = status === "COMPLETED" || status === "FAILED";
  const scheduledAt = now - 3600_000 - (n % 3600) * 1000;
  const state: JobState = {
    groupId: `6${hex(Math.floor(n / 100), 23)}`,
    clusterName: dedicated ? `dedicated-${Math.floor(n / 10) % 10}` : `flex-${Math.floor(n / 10)}`,
    restoreId: `7${hex(n, 23)}`,
    api: dedicated ? "dedicated" : "flex",
    status: dedicated && (status === "PENDING" || status === "QUEUED") ? "RUNNING" : status,
    info: {
      deliveryType: dedicated ? "automated" : "RESTORE",
      snapshotId: `5${hex(n * 3, 23)}`,
      targetProjectId: `6${hex(Math.floor(n / 100), 23)}`,
      targetDeploymentItemName: `target-${n % 50}`,
      scheduledAt,
      ...(terminal ? { finishedAt: scheduledAt + 61_500 } : {}),
    },
    lastTransitionAt: scheduledAt + 30_000,
    ...(terminal ? { terminalSince: scheduledAt + 61_500 } : {}),
    ...(n % 97 === 0 ? { errorKind: "timeout" } : {}),
  };
  return { state, lastSuccessAt: now };
}

/** The number of the next new job. */
let nextNumber = JOBS;

const UNFINISHED_STATUSES: readonly RestoreStatus[] = ["PENDING", "QUEUED", "RUNNING"];

/** The oldest jobs finished, one in ten failed; the newest spread over the unfinished statuses. */
function initialJobs(now: number): Job[] {
  const finished = Math.round(JOBS * (1 - UNFINISHED));
  return Array.from({ length: JOBS }, (_, n) => {
    if (n < finished) return makeJob(n, now, n % 10 === 3 ? "FAILED" : "COMPLETED");
    return makeJob(n, now, UNFINISHED_STATUSES[n % 3] as RestoreStatus);
  });
}

/** Moves `job` to `status` at `now`: a new state, as the tracker makes one. */
function moveTo(job: Job, status: RestoreStatus, now: number): void {
  const terminal = status === "COMPLETED" || status === "FAILED";
  const { state } = job;
  job.state = {
    ...state,
    status,
    ...(terminal && state.info ? { info: { ...state.info, finishedAt: now } } : {}),
    lastTransitionAt: now,
    ...(terminal ? { terminalSince: now } : {}),
  };
}

/** One poll cycle (see the top); `stress` also moves 1% of all jobs. */
function cycle(jobs: Job[], now: number, round: number, stress: boolean): void {
  for (const job of jobs) job.lastSuccessAt = now;
  let moved = 0;
  for (let i = jobs.length - 1; i >= 0 && moved < MOVED; i--) {
    const job = jobs[i] as Job;
    const next = job.state.status === null ? undefined : NEXT[job.state.status];
    if (next !== undefined && (i + round) % 3 === 0) {
      moveTo(job, next, now);
      moved++;
    }
  }
  if (stress) {
    for (let i = round % 100; i < jobs.length; i += 100) {
      const job = jobs[i] as Job;
      moveTo(job, job.state.status === "FAILED" ? "COMPLETED" : "FAILED", now);
    }
  }
  jobs.splice(0, CHURN);
  for (let n = 0; n < CHURN; n++) jobs.push(makeJob(nextNumber++, now, "PENDING"));
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The results of `run`, run `runs` times one after the other. */
async function repeat(runs: number, run: () => Promise<number>): Promise<number[]> {
  const results: number[] = [];
  for (let index = 0; index < runs; index++) results.push(await run());
  return results;
}

/** How long `run` took, in milliseconds. */
async function elapsed(run: () => unknown): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function timeMedian(runs: number, run: () => unknown): Promise<number> {
  return median(await repeat(runs, () => elapsed(run)));
}

/** The client's code: it answers each {url, gzip} message with the GET's time and size. */
const CLIENT = `
import { get } from "node:http";
process.on("message", ({ url, gzip }) => {
  const started = performance.now();
  get(url, { headers: gzip ? { "accept-encoding": "gzip" } : {} }, (res) => {
    let bytes = 0;
    res.on("data", (chunk) => (bytes += chunk.length));
    res.on("end", () =>
      process.send({ ms: performance.now() - started, bytes, encoding: res.headers["content-encoding"] }),
    );
  });
});
`;

interface Got {
  /** From the request to the body's last byte. */
  readonly ms: number;
  readonly bytes: number;
  readonly encoding?: string;
}

/** A client in a process of its own, as Prometheus is, so that reading 19 MB is not timed here. */
class Client {
  readonly #child = spawn(process.execPath, ["--input-type=module", "-e", CLIENT], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });

  async get(url: string, gzip: boolean): Promise<Got> {
    const answer = once(this.#child, "message");
    this.#child.send({ url, gzip });
    return (await answer)[0] as Got;
  }

  close(): void {
    this.#child.kill();
  }
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const ms = (value: number) => value.toFixed(1);
const mb = (bytes: number) => (bytes / 1e6).toFixed(2);

function emptySnapshot(): StatusSnapshot {
  return {
    now: 0,
    startedAt: 0,
    version: "",
    ready: true,
    jobs: [],
    errors: new Map(),
    transitions: [],
  };
}

/** Bare baselines for `body`: its lines joined, its bytes served as they are, and gzipped. */
async function baselines(body: string, client: Client) {
  const lines = body.split("\n");
  const joinMs = await timeMedian(RUNS, async () => lines.join("\n"));
  const prebuilt = Buffer.from(body);
  const bare = createServer((_req, res) => res.end(prebuilt));
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
  const getMs = median(await repeat(RUNS, async () => (await client.get(bareUrl, false)).ms));
  bare.close();
  return {
    series: lines.filter((line) => line !== "" && !line.startsWith("#")).length,
    joinMs,
    getMs,
    gzip1Ms: await timeMedian(5, async () => gzipSync(prebuilt, { level: 1 })),
    gzip1Bytes: gzipSync(prebuilt, { level: 1 }).byteLength,
    gzip6Ms: await timeMedian(5, async () => gzipSync(prebuilt)),
    gzip6Bytes: gzipSync(prebuilt).byteLength,
  };
}

async function main(): Promise<void> {
  let now = T0;
  const jobs = initialJobs(now);
  const { heapUsed: heapStates, external: externalStates } = await memoryInUse();

  const metrics = createMetrics(
    { jobs: () => jobs, now: () => now, retentionMs: RETENTION_MS },
    "0.0.0-bench",
  );
  const server = await startServer(
    {
      render: () => metrics.render(),
      contentType: metrics.contentType,
      isReady: () => true,
      status: emptySnapshot,
      logger: pino({ level: "silent" }),
    },
    "127.0.0.1",
    0,
  );
  const url = `http://127.0.0.1:${server.address.port}/metrics`;

  const client = new Client();
  let round = 0;
  /** The median of `measure` over RUNS runs, each after a poll cycle (not timed). */
  const afterCycles = async (stress: boolean, measure: () => Promise<number>) =>
    median(
      await repeat(RUNS, () => {
        now += CYCLE_MS;
        cycle(jobs, now, ++round, stress);
        return measure();
      }),
    );
  const render = () => elapsed(() => metrics.render());
  const get = (gzip: boolean) => async () => (await client.get(url, gzip)).ms;
  const firstRenderMs = await render();
  const renderSameMs = median(await repeat(RUNS, render));
  const renderCycleMs = await afterCycles(false, render);
  const renderStressMs = await afterCycles(true, render);
  const getSameMs = median(await repeat(RUNS, get(false)));
  const getCycleMs = await afterCycles(false, get(false));
  const getGzipSameMs = median(await repeat(RUNS, get(true)));
  const getGzipCycleMs = await afterCycles(false, get(true));
  const getGzipStressMs = await afterCycles(true, get(true));
  const peakRss = process.resourceUsage().maxRSS * 1024;
  const { heapUsed: heapAfter, external: externalAfter } = await memoryInUse();

  const gzipped = await client.get(url, true);
  const body = await (await request(url)).body.text();
  await server.close();
  const bare = await baselines(body, client);
  client.close();

  const table: [string, string][] = [
    ["jobs", String(JOBS)],
    ["series", String(bare.series)],
    ["body, MB", (Buffer.byteLength(body) / 1e6).toFixed(2)],
    ["gzip level 1 / default, MB", `${mb(bare.gzip1Bytes)} / ${mb(bare.gzip6Bytes)}`],
    ["gzip body served, MB", gzipped.encoding === "gzip" ? mb(gzipped.bytes) : "not served"],
    ["baseline: join the same lines, ms", ms(bare.joinMs)],
    ["baseline: GET of the same bytes prebuilt, ms", ms(bare.getMs)],
    [
      "baseline: gzip level 1 / default of the body, ms",
      `${ms(bare.gzip1Ms)} / ${ms(bare.gzip6Ms)}`,
    ],
    ["first render, ms", ms(firstRenderMs)],
    ["render, nothing changed, ms", ms(renderSameMs)],
    ["render after a cycle, ms", ms(renderCycleMs)],
    ["render after a stress cycle, ms", ms(renderStressMs)],
    ["GET, nothing changed, ms", ms(getSameMs)],
    ["GET after a cycle, ms", ms(getCycleMs)],
    ["GET gzip, nothing changed, ms", ms(getGzipSameMs)],
    ["GET gzip after a cycle, ms", ms(getGzipCycleMs)],
    ["GET gzip after a stress cycle, ms", ms(getGzipStressMs)],
    ["heap after GC, MiB: job states alone / after", `${mib(heapStates)} / ${mib(heapAfter)}`],
    [
      "buffers after GC, MiB: job states alone / after",
      `${mib(externalStates)} / ${mib(externalAfter)}`,
    ],
    ["peak RSS before the baselines, MiB", mib(peakRss)],
  ];
  const width = Math.max(...table.map(([name]) => name.length));
  for (const [name, value] of table) console.log(`${name.padEnd(width)}  ${value}`);
}

await main();
