/**
 * The discovery case of the benchmarks: the built daemon (`node dist/main.js`) watches one
 * organization of 100 projects × 5 Flex clusters on the built simulator, 2,000 restore jobs in
 * all of which 50 are unfinished. It reports what start-up costs (the discovery round and the
 * first cycle), then the requests and duration of each steady cycle. Not a test: it checks
 * nothing but that the run itself works. Run by bench/discovery.ts alone, and by bench/daemon.ts
 * after its own cases.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type * as SimulatorModule from "../src/simulator/index.js";
import type { ScenarioInput, SimulatorStats } from "../src/simulator/index.js";
import { DaemonChild } from "./daemon-child.js";

const PROJECTS = 100;
const CLUSTERS_PER_PROJECT = 5;
const JOBS_PER_CLUSTER = 4;
const UNFINISHED = 50;
const SCHEDULE = "*/5 * * * * *";
const CYCLE_TIMEOUT_MS = 60_000;
const DAY = 86_400;

const DIST = new URL("../dist/", import.meta.url);
const MAIN = fileURLToPath(new URL("main.js", DIST));
const SIMULATOR = new URL("simulator/index.js", DIST).href;
const SERVICE_ACCOUNT = { clientId: "mdb_sa_id_bench0002", clientSecret: "mdb_sa_sk_bench-secret" };
const ORG = "6b0000000000000000000001";

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

/** The organization: every cluster holds 4 jobs; the first 50 clusters hold one still running. */
function scenario(): ScenarioInput {
  const projects = Array.from({ length: PROJECTS }, (_, p) => ({
    id: `6b00000000000000${hex(p + 1, 8)}`,
    orgId: ORG,
    name: `Project${p}`,
  }));
  const clusters = projects.flatMap((project) =>
    Array.from({ length: CLUSTERS_PER_PROJECT }, (_, c) => ({
      groupId: project.id,
      name: `Flex${c}`,
      kind: "flex" as const,
    })),
  );
  const jobs = clusters.flatMap((cluster, c) =>
    Array.from({ length: JOBS_PER_CLUSTER }, (_, j) => {
      const running = j === 0 && c < UNFINISHED;
      const created = running ? 0 : -30 * DAY + c * 60 + j;
      return {
        groupId: cluster.groupId,
        clusterName: cluster.name,
        id: `6c0000000000${hex(c * JOBS_PER_CLUSTER + j, 12)}`,
        createdAfterSeconds: created,
        script: running
          ? [{ afterSeconds: 0, status: "RUNNING" }]
          : [
              { afterSeconds: created, status: "RUNNING" },
              { afterSeconds: created + 300, status: "COMPLETED" },
            ],
      };
    }),
  );
  return { serviceAccounts: [SERVICE_ACCOUNT], projects, clusters, jobs };
}

/** Requests between two snapshots, by route. */
function delta(before: SimulatorStats, after: SimulatorStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [route, n] of Object.entries(after.byRoute)) {
    const d = n - (before.byRoute[route] ?? 0);
    if (d > 0) out[route] = d;
  }
  return out;
}

const ROUTES = [
  "groups.list",
  "flexClusters.list",
  "clusters.list",
  "flex.list",
  "flex.get",
  "token",
] as const;

function row(label: string, seconds: string, requests: Record<string, number>): string {
  const total = Object.values(requests).reduce((a, b) => a + b, 0);
  const cells = ROUTES.map((route) => String(requests[route] ?? 0).padStart(route.length));
  return `| ${label.padEnd(14)} | ${seconds.padStart(7)} | ${String(total).padStart(5)} | ${cells.join(" | ")} |`;
}

/** What the discovery case prints, and whether the run worked. */
export interface DiscoveryResult {
  /** A Markdown table and its notes, as docs/benchmarks.md shows them. */
  readonly report: string;
  /** Every cluster watched, every unfinished job sighted, exit 0 on SIGTERM. */
  readonly ok: boolean;
}

/**
 * Runs the case with `cycles` steady cycles after start-up; progress goes to stderr. Rejects
 * when the run fails (a deadline passes, the daemon dies).
 */
export async function runDiscovery(cycles: number): Promise<DiscoveryResult> {
  const simulator = (await import(SIMULATOR)) as typeof SimulatorModule;
  const sim = await simulator.startSimulator({
    scenario: simulator.parseScenario(scenario()),
    clock: "real",
  });
  const dir = await mkdtemp(join(tmpdir(), "restore-watch-bench-discovery-"));
  let daemon: DaemonChild | undefined;
  try {
    const config = join(dir, "restore-watch.json");
    await writeFile(
      config,
      JSON.stringify({
        schedule: SCHEDULE,
        listen: "127.0.0.1:0",
        baseUrl: sim.url,
        stateFile: join(dir, "state.json"),
        discoveryInterval: "1h",
        // poll_cycle_finished, with the cycle's own duration, is a debug line.
        logLevel: "debug",
        watch: [{ orgId: ORG }],
      }),
    );
    const started = performance.now();
    daemon = DaemonChild.spawn(
      MAIN,
      ["--config", config],
      {
        PATH: process.env.PATH ?? "",
        MONGODB_ATLAS_CLIENT_ID: SERVICE_ACCOUNT.clientId,
        MONGODB_ATLAS_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret,
      },
      dir,
    );
    const rows: string[] = [];
    let from = 0;
    let before = sim.stats();
    const zero = before;
    const next = async (label: string, since?: number) => {
      const { line, index } = await daemon!.waitForLine(
        (l) => l.event === "poll_cycle_finished",
        label,
        CYCLE_TIMEOUT_MS,
        from,
      );
      from = index + 1;
      const after = sim.stats();
      const seconds =
        since === undefined ? Number(line.seconds) : (performance.now() - since) / 1000;
      rows.push(row(label, seconds.toFixed(3), delta(before, after)));
      process.stderr.write(`discovery: ${label}: ${seconds.toFixed(3)} s\n`);
      before = after;
    };
    await next("start-up", started);
    for (let i = 1; i <= cycles; i++) await next(`steady cycle ${i}`);
    const sightings = daemon.lines.filter(
      (l) => l.event === "restore_transition" && l.from === null,
    ).length;
    const watched = daemon.lines.filter((l) => l.event === "cluster_watch_started").length;
    const code = await daemon.stop(15_000);

    const report = [
      `## Discovery: 1 organization, ${PROJECTS} projects × ${CLUSTERS_PER_PROJECT} Flex clusters, ` +
        `${PROJECTS * CLUSTERS_PER_PROJECT * JOBS_PER_CLUSTER} restore jobs (${UNFINISHED} unfinished)`,
      "",
      `schedule ${SCHEDULE}, concurrency 8 (the default), discovery once at start`,
      "",
      `| ${"cycle".padEnd(14)} | seconds | total | ${ROUTES.join(" | ")} |`,
      `|${"-".repeat(16)}|---------|-------|${ROUTES.map((r) => "-".repeat(r.length + 2)).join("|")}|`,
      ...rows,
      "",
      `start-up: from spawn to the end of the first cycle, discovery included`,
      `clusters watched: ${watched}; first sightings logged: ${sightings} (expected ${UNFINISHED})`,
      `requests in all: ${sim.stats().requests - zero.requests}; exit code on SIGTERM: ${String(code)}`,
    ].join("\n");
    return {
      report,
      ok: watched === PROJECTS * CLUSTERS_PER_PROJECT && sightings === UNFINISHED && code === 0,
    };
  } finally {
    daemon?.kill();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}
