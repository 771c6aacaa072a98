/**
 * The image's runtime stage, replayed outside Docker (there is no Docker engine here or in CI):
 * a clean directory gets exactly what the final stage copies, `npm ci --omit=dev` as the stage
 * runs it, and is started with the stage's CMD in the place of WORKDIR. Proves that production
 * dependencies, dist/ and config/ are enough to run the daemon, and that nothing else ships.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseScenario, startSimulator, type Simulator } from "../../src/simulator/index.js";
import { API_KEY, GROUP, id, waitFor } from "../support/fixtures.js";
import { freePort } from "./free-port.js";
import { listFiles, replayRuntimeStage, type ReplayedStage } from "./runtime-stage-replay.js";
import { ROOT } from "./tools.js";

const JOB = id(41);

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
interface Lockfile {
  packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }>;
}

let sim: Simulator;
let stage: ReplayedStage;
/** Top-level entries and config files of the copy right after the replay. */
let entries: string[];
let configFiles: string[];

beforeAll(async () => {
  sim = await startSimulator({
    scenario: parseScenario({
      apiKeys: [API_KEY],
      clusters: [{ groupId: GROUP, name: "Flex0", kind: "flex" }],
      jobs: [
        {
          groupId: GROUP,
          clusterName: "Flex0",
          id: JOB,
          script: [{ afterSeconds: 0, status: "RUNNING" }],
        },
      ],
    }),
    clock: "manual",
  });
  const into = await mkdtemp(join(tmpdir(), "restore-watch-runtime-stage-"));
  stage = await replayRuntimeStage(ROOT, join(into, "app"));
  entries = (await readdir(stage.dir)).sort();
  configFiles = await listFiles(join(stage.dir, "config"));
}, 120_000);

afterAll(async () => {
  await sim?.close();
  if (stage) await rm(join(stage.dir, ".."), { recursive: true, force: true });
});

describe("the runtime stage, replayed", () => {
  it("holds the package files, production node_modules, dist, config and the state volume only", async () => {
    expect(stage.workdir).toBe("/app");
    expect(entries).toEqual([
      "config",
      "data",
      "dist",
      "node_modules",
      "package-lock.json",
      "package.json",
    ]);
    expect(stage.volumes).toEqual([join(stage.dir, "data")]);
    expect(await readdir(join(stage.dir, "data"))).toEqual([]);
    for (const file of ["package.json", "package-lock.json"]) {
      expect(await readFile(join(stage.dir, file), "utf8")).toBe(
        await readFile(join(ROOT, file), "utf8"),
      );
    }
    expect(await listFiles(join(stage.dir, "dist"))).toEqual(await listFiles(join(ROOT, "dist")));
  });

  it("ships config/ without Prometheus's files, which .dockerignore keeps for the prometheus service", async () => {
    const shipped = (await listFiles(join(ROOT, "config"))).filter(
      (file) => !file.startsWith("prometheus/"),
    );
    expect(configFiles).toEqual(shipped);
    expect(configFiles).toContain("restore-watch.yaml");
    expect(configFiles).toContain("scenarios/demo.yaml");
    expect(configFiles.filter((file) => file.startsWith("prometheus/"))).toEqual([]);
  });

  it("contains no sources, tests or build configuration", () => {
    for (const name of ["src", "test", "bench", "tsconfig.json", "tsconfig.build.json", ".env"]) {
      expect(existsSync(join(stage.dir, name)), name).toBe(false);
    }
  });

  it("ran npm ci --omit=dev as the stage does, and skipped only what needs root or empties the cache", () => {
    expect(stage.ran).toEqual([
      "npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline",
      "mkdir -p /app/data",
    ]);
    expect(stage.skipped).toEqual([
      "npm cache clean --force: image size only, and would empty this machine's npm cache",
      "chown node:node /app/data: needs root; the copy belongs to whoever runs the test",
    ]);
    expect(stage.env).toEqual({
      NODE_ENV: "production",
      NODE_OPTIONS: "--max-semi-space-size=2 --max-old-space-size=128",
      MALLOC_ARENA_MAX: "1",
    });
  });

  it("installed every dependency and not one devDependency, direct or transitive", async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as PackageJson;
    const lock = JSON.parse(await readFile(join(ROOT, "package-lock.json"), "utf8")) as Lockfile;
    const installed = (path: string) => existsSync(join(stage.dir, path, "package.json"));
    for (const name of Object.keys(pkg.dependencies)) {
      expect(installed(`node_modules/${name}`), name).toBe(true);
    }
    expect(Object.keys(pkg.devDependencies)).toContain("vitest");
    expect(Object.keys(pkg.devDependencies)).toContain("typescript");
    for (const name of Object.keys(pkg.devDependencies)) {
      expect(installed(`node_modules/${name}`), name).toBe(false);
    }
    const devOnly = Object.entries(lock.packages).filter(([path, entry]) => path && entry.dev);
    const production = Object.entries(lock.packages).filter(
      ([path, entry]) => path && !entry.dev && !entry.optional && !entry.devOptional,
    );
    expect(devOnly.length).toBeGreaterThan(0);
    expect(devOnly.filter(([path]) => installed(path)).map(([path]) => path)).toEqual([]);
    expect(production.filter(([path]) => !installed(path)).map(([path]) => path)).toEqual([]);
    expect(existsSync(join(stage.dir, "node_modules", ".bin", "vitest"))).toBe(false);
    expect(existsSync(join(stage.dir, "node_modules", ".bin", "tsc"))).toBe(false);
  });
});

describe("the stage's CMD in the copy", () => {
  let child: ChildProcess;
  let exited: Promise<number | string>;
  const lines: Record<string, unknown>[] = [];
  const garbage: string[] = [];
  let stderr = "";
  let port: number;

  const get = async (path: string) => {
    const response = await request(`http://127.0.0.1:${port}${path}`);
    return { status: response.statusCode, body: await response.body.text() };
  };

  beforeAll(async () => {
    // A small configuration in the copy, read from a path relative to WORKDIR as in the image.
    await writeFile(
      join(stage.dir, "config", "runtime-stage-test.yaml"),
      stringify({
        schedule: "* * * * * *",
        api: "flex",
        jobs: [{ groupId: GROUP, clusterName: "Flex0", restoreId: JOB }],
      }),
    );
    port = await freePort();
    const [program, ...args] = stage.cmd;
    expect(program).toBe("node");
    // The stage runs on the image's Node.js major: the replay must too, or it proves nothing.
    expect(process.versions.node.split(".")[0]).toBe(stage.nodeMajor);
    child = spawn(process.execPath, args, {
      cwd: stage.dir,
      env: {
        PATH: process.env.PATH ?? "",
        ...stage.env,
        RESTORE_WATCH_CONFIG: "config/runtime-stage-test.yaml",
        RESTORE_WATCH_LISTEN: `127.0.0.1:${port}`,
        RESTORE_WATCH_STATE_FILE: "data/state.json",
        MONGODB_ATLAS_BASE_URL: sim.url,
        MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
        MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        garbage.push(line);
      }
    });
    exited = new Promise((resolve) =>
      child.on("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
    );
  });

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
  });

  it("answers /healthz with 200", async () => {
    const health = await waitFor(async () => {
      try {
        return await get("/healthz");
      } catch {
        return undefined; // not listening yet
      }
    }, `/healthz; stderr: ${stderr}`);
    expect(health).toEqual({ status: 200, body: "ok\n" });
  });

  it("becomes ready on /readyz after polling the simulator", async () => {
    const ready = await waitFor(async () => {
      const answer = await get("/readyz");
      return answer.status === 200 ? answer : undefined;
    }, "/readyz 200");
    expect(ready.body).toBe("ready\n");
    const metrics = (await get("/metrics")).body;
    expect(metrics).toContain(
      `atlas_restore_job_status{group_id="${GROUP}",cluster_name="Flex0",restore_id="${JOB}",api="flex",status="RUNNING"} 1`,
    );
    expect(metrics).toContain("atlas_restore_api_up 1");
    expect(lines.find((line) => line.event === "restore_transition")).toMatchObject({
      restoreId: JOB,
      from: null,
      to: "RUNNING",
    });
  });

  it("exits 0 on SIGTERM, with JSON lines only and its state in the data volume", async () => {
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(garbage).toEqual([]);
    expect(stderr).toBe("");
    expect(lines.slice(-2).map((line) => [line.event, line.signal])).toEqual([
      ["shutdown", "SIGTERM"],
      ["daemon_stopped", undefined],
    ]);
    const state = JSON.parse(await readFile(join(stage.dir, "data", "state.json"), "utf8")) as {
      jobs: { restoreId: string; status: string }[];
    };
    expect(state.jobs.map((job) => [job.restoreId, job.status])).toEqual([[JOB, "RUNNING"]]);
  });
});
