/**
 * Benchmark of `/metrics` at scale, in one process: N realistic job states (10,000 by default),
 * the daemon's own metrics and HTTP server, and a client reading raw bytes. It prints the median
 * time of the render and of a GET (plain and gzip), next to bare baselines measured in the same
 * run, the body sizes, and the heap and RSS.
 *
 * Two kinds of scrape are timed: one with nothing changed since the last (as when two Prometheus
 * replicas scrape the same daemon), and one after a poll cycle, which gives every job a new state
 * object (a new lastSuccessAt, a new info object with the same values) and moves 1% of the jobs
 * to another status, as the poller does.
 *
 * Run after `npm ci`, with the image's heap options:
 * `NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=128" npx tsx
 * bench/metrics-render.ts [--jobs N] [--runs N]`.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { pino } from "pino";
import { request } from "undici";
import { createMetrics } from "../src/http/metrics.js";
import { startServer } from "../src/http/server.js";
import type { StatusSnapshot } from "../src/http/status-snapshot.js";
import type { RestoreStatus } from "../src/atlas/model.js";
import type { JobState } from "../src/tracker/job-state.js";

const { values } = parseArgs({
  options: { jobs: { type: "string", default: "10000" }, runs: { type: "string", default: "20" } },
});
const JOBS = Number(values.jobs);
const RUNS = Number(values.runs);

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const T0 = Date.parse("2026-12-01T10:00:00Z");
const RETENTION_MS = 24 * 3600_000;
const CYCLE_MS = 30_000;

function hex(n: number, width = 24): string {
  return n.toString(16).padStart(width, "0");
}

/** Job i of N: 100 projects × 10 clusters × N/1000 jobs; 90% Flex, 10% dedicated. */
function makeJob(i: number, now: number): JobState {
  const dedicated = i % 10 === 9;
  const roll = (i * 7919) % 100;
  const status: RestoreStatus =
    roll < 70 ? "COMPLETED" : roll < 80 ? "FAILED" : roll < 95 ? "RUNNING" : "QUEUED";
  const terminal = status === "COMPLETED" || status === "FAILED";
  const scheduledAt = now - 3600_000 - (i % 3600) * 1000;
  return {
    groupId: `6${hex(Math.floor(i / 100), 23)}`,
    clusterName: dedicated ? `dedicated-${Math.floor(i / 10) % 10}` : `flex-${Math.floor(i / 10)}`,
    restoreId: `7${hex(i, 23)}`,
    api: dedicated ? "dedicated" : "flex",
    status: dedicated && status === "QUEUED" ? "RUNNING" : status,
    info: {
      deliveryType: dedicated ? "automated" : "RESTORE",
      snapshotId: `5${hex(i * 3, 23)}`,
      targetProjectId: `6${hex(Math.floor(i / 100), 23)}`,
      targetDeploymentItemName: `target-${i % 50}`,
      scheduledAt,
      ...(terminal ? { finishedAt: scheduledAt + 61_500 } : {}),
    },
    lastTransitionAt: scheduledAt + 30_000,
    lastSuccessAt: now,
    ...(terminal ? { terminalSince: scheduledAt + 61_500 } : {}),
    ...(i % 97 === 0 ? { errorKind: "timeout" } : {}),
  };
}

/** One poll cycle: every job a new object (as observeJob makes), 1% to another status. */
function cycle(jobs: JobState[], now: number, round: number): void {
  jobs.forEach((job, i) => {
    const moved = (i + round) % 100 === 0;
    const status: RestoreStatus | null = moved ? "RUNNING" : job.status;
    jobs[i] = {
      ...job,
      status,
      ...(job.info ? { info: { ...job.info } } : {}),
      lastSuccessAt: now,
      ...(moved ? { lastTransitionAt: now } : {}),
    };
  });
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function timeMedian(runs: number, run: (index: number) => Promise<unknown>) {
  const samples: number[] = [];
  for (let index = 0; index < runs; index++) {
    const started = performance.now();
    await run(index);
    samples.push(performance.now() - started);
  }
  return median(samples);
}

async function getBytes(url: string, gzip: boolean): Promise<number> {
  const response = await request(url, gzip ? { headers: { "accept-encoding": "gzip" } } : {});
  return (await response.body.arrayBuffer()).byteLength;
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
async function baselines(body: string) {
  const lines = body.split("\n");
  const joinMs = await timeMedian(RUNS, async () => lines.join("\n"));
  const prebuilt = Buffer.from(body);
  const bare = createServer((_req, res) => res.end(prebuilt));
  await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
  const getMs = await timeMedian(RUNS, () => getBytes(bareUrl, false));
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
  const jobs = Array.from({ length: JOBS }, (_, i) => makeJob(i, now));
  gc();
  const heapStates = process.memoryUsage().heapUsed;

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

  let round = 0;
  /** Median time of `run` over RUNS runs, each after a poll cycle (not timed). */
  const afterCycles = async (run: () => Promise<unknown>) => {
    const samples: number[] = [];
    for (let index = 0; index < RUNS; index++) {
      now += CYCLE_MS;
      cycle(jobs, now, ++round);
      const started = performance.now();
      await run();
      samples.push(performance.now() - started);
    }
    return median(samples);
  };
  const firstRenderMs = await timeMedian(1, () => metrics.render());
  const renderSameMs = await timeMedian(RUNS, () => metrics.render());
  const renderCycleMs = await afterCycles(() => metrics.render());
  const getSameMs = await timeMedian(RUNS, () => getBytes(url, false));
  const getGzipSameMs = await timeMedian(RUNS, () => getBytes(url, true));
  const getCycleMs = await afterCycles(() => getBytes(url, false));
  const getGzipCycleMs = await afterCycles(() => getBytes(url, true));
  const peakRss = process.resourceUsage().maxRSS * 1024;
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const externalAfter = process.memoryUsage().external;

  const gzipped = await request(url, { headers: { "accept-encoding": "gzip" } });
  const gzipServed =
    gzipped.headers["content-encoding"] === "gzip"
      ? (await gzipped.body.arrayBuffer()).byteLength
      : (await gzipped.body.dump(), undefined);
  const body = await (await request(url)).body.text();
  await server.close();
  const bare = await baselines(body);

  const table: [string, string][] = [
    ["jobs", String(JOBS)],
    ["series", String(bare.series)],
    ["body, MB", (Buffer.byteLength(body) / 1e6).toFixed(2)],
    ["gzip level 1 / default, MB", `${mb(bare.gzip1Bytes)} / ${mb(bare.gzip6Bytes)}`],
    ["gzip body served, MB", gzipServed === undefined ? "not served" : mb(gzipServed)],
    ["baseline: join the same lines, ms", ms(bare.joinMs)],
    ["baseline: GET of the same bytes prebuilt, ms", ms(bare.getMs)],
    [
      "baseline: gzip level 1 / default of the body, ms",
      `${ms(bare.gzip1Ms)} / ${ms(bare.gzip6Ms)}`,
    ],
    ["first render, ms", ms(firstRenderMs)],
    ["render, nothing changed, ms", ms(renderSameMs)],
    ["render after a cycle, ms", ms(renderCycleMs)],
    ["GET, nothing changed, ms", ms(getSameMs)],
    ["GET gzip, nothing changed, ms", ms(getGzipSameMs)],
    ["GET after a cycle, ms", ms(getCycleMs)],
    ["GET gzip after a cycle, ms", ms(getGzipCycleMs)],
    ["heap after GC: job states alone, MiB", mib(heapStates)],
    ["heap after GC: after the scrapes, MiB", mib(heapAfter)],
    ["external memory after GC, MiB", mib(externalAfter)],
    ["peak RSS before the baselines (client included), MiB", mib(peakRss)],
  ];
  const width = Math.max(...table.map(([name]) => name.length));
  for (const [name, value] of table) console.log(`${name.padEnd(width)}  ${value}`);
}

await main();
