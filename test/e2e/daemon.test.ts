/**
 * The product end to end: the built daemon as a child process against the simulator. Asserts
 * the exact transition lines and their levels, the metric values, readiness, a restart that
 * repeats nothing, and a clean exit on SIGTERM.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.js";
import {
  spawnDaemon,
  writeConfig,
  type DaemonProcess,
  type LogLine,
} from "../support/daemon-process.js";
import { API_KEY, GROUP, id, startSim, waitFor } from "../support/fixtures.js";

const run = promisify(execFile);

const A = id(1); // tenant, completes
const B = id(2); // tenant, fails
const C = id(3); // flex, completes

let sim: Simulator;
let dir: string;
let configFile: string;
const env = () => ({
  MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
  MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey,
});

beforeAll(async () => {
  sim = await startSim({
    clusters: [
      { groupId: GROUP, name: "Cluster0", kind: "tenant" },
      { groupId: GROUP, name: "Flex0", kind: "flex" },
    ],
    jobs: [
      {
        groupId: GROUP,
        clusterName: "Cluster0",
        id: A,
        script: [
          { afterSeconds: 0, status: "PENDING" },
          { afterSeconds: 5, status: "QUEUED" },
          { afterSeconds: 10, status: "RUNNING" },
          { afterSeconds: 30, status: "COMPLETED" },
        ],
      },
      {
        groupId: GROUP,
        clusterName: "Cluster0",
        id: B,
        script: [
          { afterSeconds: 0, status: "PENDING" },
          { afterSeconds: 10, status: "RUNNING" },
          { afterSeconds: 30, status: "FAILED" },
        ],
      },
      {
        groupId: GROUP,
        clusterName: "Flex0",
        id: C,
        script: [
          { afterSeconds: 0, status: "PENDING" },
          { afterSeconds: 10, status: "RUNNING" },
          { afterSeconds: 30, status: "COMPLETED" },
        ],
      },
    ],
  });
  const written = await writeConfig({
    schedule: "* * * * * *",
    api: "tenant",
    listen: "127.0.0.1:0",
    baseUrl: sim.url,
    jobs: [
      { groupId: GROUP, clusterName: "Cluster0", restoreId: A },
      { groupId: GROUP, clusterName: "Cluster0", restoreId: B },
      { groupId: GROUP, clusterName: "Flex0", restoreId: C, api: "flex" },
    ],
  });
  dir = written.dir;
  configFile = written.file;
});

afterAll(async () => {
  await sim.close();
});

const transitions = (lines: LogLine[]) =>
  lines
    .filter((l) => l.event === "restore_transition")
    .map((l) => `${l.level} ${l.api} ${String(l.restoreId).slice(-1)} ${l.from}→${l.to}`)
    .sort();

async function get(port: number, path: string) {
  const res = await request(`http://127.0.0.1:${port}${path}`);
  return { status: res.statusCode, body: await res.body.text() };
}

function start(): DaemonProcess {
  return spawnDaemon(["--config", configFile], {
    ...env(),
    RESTORE_WATCH_STATE_FILE: join(dir, "state.json"),
  });
}

async function stop(daemon: DaemonProcess): Promise<number> {
  const started = Date.now();
  daemon.child.kill("SIGTERM");
  const code = await daemon.exited;
  expect(Date.now() - started).toBeLessThan(10_000);
  return code as number;
}

/** Waits until `count` transition lines have been logged since line `from`. */
async function transitionsAfter(daemon: DaemonProcess, from: number, count: number) {
  return waitFor(() => {
    const got = transitions(daemon.lines.slice(from));
    return got.length >= count ? got : undefined;
  }, `${count} transitions`);
}

describe("the daemon against the simulator", () => {
  let first: DaemonProcess;
  let port: number;

  it("logs the first sighting of every job and becomes ready", async () => {
    first = start();
    port = await first.port();
    expect(await transitionsAfter(first, 0, 3)).toEqual([
      "30 flex 3 null→PENDING",
      "30 tenant 1 null→PENDING",
      "30 tenant 2 null→PENDING",
    ]);
    await waitFor(
      async () => ((await get(port, "/readyz")).status === 200 ? true : undefined),
      "ready",
    );
    const line = first.lines.find((l) => l.event === "restore_transition" && l.restoreId === A)!;
    expect(line).toMatchObject({
      level: 30,
      msg: "restore job status changed",
      groupId: GROUP,
      clusterName: "Cluster0",
      restoreId: A,
      api: "tenant",
      from: null,
      to: "PENDING",
      restoreScheduledDate: "2025-06-01T12:00:00Z",
    });
    expect(typeof line.time).toBe("number");
  });

  it("logs each change once as the script advances", async () => {
    let mark = first.lines.length;
    sim.advance(5);
    expect(await transitionsAfter(first, mark, 1)).toEqual(["30 tenant 1 PENDING→QUEUED"]);
    mark = first.lines.length;
    sim.advance(5);
    expect(await transitionsAfter(first, mark, 3)).toEqual([
      "30 flex 3 PENDING→RUNNING",
      "30 tenant 1 QUEUED→RUNNING",
      "30 tenant 2 PENDING→RUNNING",
    ]);
  });

  it("exports the statuses and counters", async () => {
    const { status, body } = await get(port, "/metrics");
    expect(status).toBe(200);
    const line = (job: string, api: string, st: string) =>
      `atlas_restore_job_status{group_id="${GROUP}",cluster_name="${job === C ? "Flex0" : "Cluster0"}",restore_id="${job}",api="${api}",status="${st}"}`;
    expect(body).toContain(`${line(A, "tenant", "RUNNING")} 1`);
    expect(body).toContain(`${line(A, "tenant", "QUEUED")} 0`);
    expect(body).toContain(`${line(C, "flex", "RUNNING")} 1`);
    expect(body).toContain(
      'atlas_restore_transitions_total{api="tenant",from="NEW",to="PENDING"} 2',
    );
    expect(body).toContain(
      'atlas_restore_transitions_total{api="tenant",from="QUEUED",to="RUNNING"} 1',
    );
    expect(body).toContain(
      'atlas_restore_transitions_total{api="flex",from="PENDING",to="RUNNING"} 1',
    );
    expect(body).toMatch(/atlas_restore_api_requests_total\{api="tenant",code="200"\} \d+/);
    expect(body).toContain("atlas_restore_api_up 1");
    expect(body).toMatch(/atlas_restore_build_info\{version="\d+\.\d+\.\d+"\} 1/);
  });

  it("passes promtool check metrics", async () => {
    const { body } = await get(port, "/metrics");
    const child = execFile("promtool", ["check", "metrics"]);
    child.stdin?.end(body);
    const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
      let out = "";
      child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
      child.on("exit", (code) => resolve({ code, out }));
      child.on("error", (error) =>
        resolve({
          code: -1,
          out: `promtool not runnable (${error.message}); install Debian's prometheus package`,
        }),
      );
    });
    expect(result.out).toBe("");
    expect(result.code).toBe(0);
  });

  it("exits 0 within 10 s of SIGTERM and saves its state", async () => {
    expect(await stop(first)).toBe(0);
    expect(first.garbage).toEqual([]);
    expect(first.stderr()).toBe("");
    const state = JSON.parse(await readFile(join(dir, "state.json"), "utf8"));
    expect(state.jobs.map((j: { status: string }) => j.status)).toEqual([
      "RUNNING",
      "RUNNING",
      "RUNNING",
    ]);
  });

  it("repeats nothing after a restart and logs what happened while it was down", async () => {
    sim.advance(20); // t=30: the jobs finish while the daemon is down
    const second = start();
    expect(await transitionsAfter(second, 0, 3)).toEqual([
      "30 flex 3 RUNNING→COMPLETED",
      "30 tenant 1 RUNNING→COMPLETED",
      "50 tenant 2 RUNNING→FAILED",
    ]);
    const p = await second.port();
    await waitFor(
      async () => ((await get(p, "/readyz")).status === 200 ? true : undefined),
      "ready",
    );
    const failed = second.lines.find((l) => l.to === "FAILED")!;
    expect(failed).toMatchObject({
      level: 50,
      restoreFinishedDate: "2025-06-01T12:00:30Z",
      durationSeconds: 30,
    });
    // Finished jobs are not polled again: two more cycles make no request and log nothing.
    const requestsBefore = sim.stats().requests;
    const linesBefore = second.lines.length;
    const cycles = async () =>
      Number(
        /atlas_restore_poll_cycle_duration_seconds_count (\d+)/.exec(
          (await get(p, "/metrics")).body,
        )?.[1],
      );
    const target = (await cycles()) + 2;
    await waitFor(async () => ((await cycles()) >= target ? true : undefined), "two more cycles");
    expect(sim.stats().requests).toBe(requestsBefore);
    expect(second.lines.length).toBe(linesBefore);
    expect(await stop(second)).toBe(0);
    expect(transitions(second.lines)).toHaveLength(3);
  });
});

describe("the command line", () => {
  /** Runs main.js to its end and returns its exit code and output. */
  async function cli(args: string[], extraEnv: Record<string, string> = {}) {
    try {
      const { stdout, stderr } = await run(process.execPath, [join("dist", "main.js"), ...args], {
        env: { PATH: process.env.PATH ?? "", ...extraEnv },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it("refuses a bad configuration with every problem, exit 78 and no stack trace", async () => {
    const { file } = await writeConfig({
      schedule: "61 * * * *",
      concurrency: 0,
      jobs: [{ groupId: "nothex", clusterName: "Cluster0", restoreId: A }],
    });
    const result = await cli(["--config", file], env());
    expect(result.code).toBe(78);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      [
        "atlas-restore-watch: invalid configuration (3 problems):",
        '  schedule: "61 * * * *" is not a valid cron expression (invalid minute field "61")',
        "  concurrency: 0 is not an integer from 1 to 64",
        '  jobs[0].groupId: "nothex" is not a 24-character lowercase hexadecimal id',
        "",
      ].join("\n"),
    );
  });

  it("refuses an unknown flag with exit 64 and the usage", async () => {
    const result = await cli(["--frobnicate"]);
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/^atlas-restore-watch: .*--frobnicate/);
    expect(result.stderr).toContain("--check-config");
  });

  it("prints its usage", async () => {
    const result = await cli(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("--config FILE");
  });

  it("prints its version", async () => {
    const { stdout } = await run(process.execPath, [join("dist", "main.js"), "--version"]);
    const pkg = JSON.parse(await readFile("package.json", "utf8"));
    expect(stdout).toBe(`${pkg.version}\n`);
  });

  it("checks a configuration and prints it without secrets", async () => {
    const { stdout } = await run(
      process.execPath,
      [join("dist", "main.js"), "--config", configFile, "--check-config"],
      {
        env: { PATH: process.env.PATH ?? "", ...env() },
      },
    );
    expect(stdout).toContain(API_KEY.publicKey);
    expect(stdout).not.toContain(API_KEY.privateKey);
    expect(JSON.parse(stdout)).toMatchObject({ schedule: "* * * * * *", api: "tenant" });
  });
});
