import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DOCKER_COMPOSE, ROOT, run } from "./tools.js";

const execFileAsync = promisify(execFile);

interface Service {
  image?: string;
  build?: { context: string };
  profiles?: string[];
  command?: string[];
  init?: boolean;
  restart?: string;
  environment?: Record<string, string | null>;
  secrets?: { source: string }[];
  volumes?: string[];
  tmpfs?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  networks?: Record<string, { aliases?: string[] } | null>;
  healthcheck?: { test: string[] };
}

interface ComposeConfig {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

const IMAGE = "atlas-restore-watch:local";

/** The services `docker compose --profile <profile> up` starts: unprofiled ones plus its own. */
function started(config: ComposeConfig, profile: string): string[] {
  return Object.entries(config.services)
    .filter(([, service]) => service.profiles === undefined || service.profiles.includes(profile))
    .map(([name]) => name)
    .sort();
}

function service(config: ComposeConfig, name: string): Service {
  const found = config.services[name];
  if (found === undefined) throw new Error(`no service ${name}`);
  return found;
}

let dir: string;
let emptyEnv: string;
/** As parsed on a fresh clone: no .env, nothing from the caller's environment. */
let fresh: ComposeConfig;

async function composeConfig(
  envFile: string,
  extra: readonly string[] = [],
): Promise<ComposeConfig> {
  const result = await run(
    DOCKER_COMPOSE,
    ["--env-file", envFile, "-f", "docker-compose.yml", ...extra, "config"],
    { env: { PATH: process.env.PATH ?? "" } },
  );
  expect(result.code, result.stderr).toBe(0);
  // Unset variables would be interpolated as blanks, with a warning on stderr.
  expect(result.stderr).not.toMatch(/WARNING/);
  return parse(result.stdout) as ComposeConfig;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "restore-watch-compose-"));
  emptyEnv = join(dir, "empty.env");
  await writeFile(emptyEnv, "");
  fresh = await composeConfig(emptyEnv);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("docker-compose.yml (docker-compose 1.29 config)", () => {
  it("defines the daemon, Prometheus and the demo pair, with the daemon's image built here", () => {
    expect(Object.keys(fresh.services).sort()).toEqual([
      "grafana",
      "prometheus",
      "restore-watch",
      "restore-watch-demo",
      "simulator",
    ]);
    for (const name of ["restore-watch", "restore-watch-demo", "simulator"]) {
      expect(service(fresh, name).image, name).toBe(IMAGE);
      expect(service(fresh, name).build?.context, name).toBe(ROOT.replace(/\/$/, ""));
      expect(service(fresh, name).init, name).toBe(true);
    }
  });

  it("starts Prometheus with the real daemon in profile atlas and the demo in profile demo", () => {
    expect(started(fresh, "atlas")).toEqual(["grafana", "prometheus", "restore-watch"]);
    expect(started(fresh, "demo")).toEqual([
      "grafana",
      "prometheus",
      "restore-watch-demo",
      "simulator",
    ]);
    // A dependency outside the active profile would stop `up` with an error.
    for (const profile of ["atlas", "demo"]) {
      const active = started(fresh, profile);
      for (const name of active) {
        for (const dependency of Object.keys(service(fresh, name).depends_on ?? {})) {
          expect(active, `${name} -> ${dependency}`).toContain(dependency);
        }
      }
    }
  });

  it("lets Prometheus's one target, restore-watch:9917, reach a daemon in either profile", async () => {
    const prometheus = await readFile(join(ROOT, "config/prometheus/prometheus.yml"), "utf8");
    expect(prometheus).toContain('targets: ["restore-watch:9917"]');
    const daemonFor = { atlas: "restore-watch", demo: "restore-watch-demo" };
    for (const [profile, name] of Object.entries(daemonFor)) {
      const daemon = service(fresh, name);
      const names = [name, ...(daemon.networks?.default?.aliases ?? [])];
      expect(names, profile).toContain("restore-watch");
      expect(started(fresh, profile)).toContain(name);
      expect(daemon.ports, profile).toEqual(["127.0.0.1:9917:9917/tcp"]);
    }
  });

  it("runs the real daemon from secrets files, with read-only config and a named state volume", () => {
    const daemon = service(fresh, "restore-watch");
    expect(daemon.restart).toBe("unless-stopped");
    expect(daemon.environment).toEqual({
      MONGODB_ATLAS_CLIENT_ID_FILE: "/run/secrets/atlas_client_id",
      MONGODB_ATLAS_CLIENT_SECRET_FILE: "/run/secrets/atlas_client_secret",
      // Passed on only when set (.env or shell); null means unset in the container.
      LOG_LEVEL: null,
    });
    expect(daemon.secrets).toEqual([
      { source: "atlas_client_id" },
      { source: "atlas_client_secret" },
    ]);
    expect(fresh.secrets).toEqual({
      atlas_client_id: { file: join(ROOT, "secrets/atlas_client_id") },
      atlas_client_secret: { file: join(ROOT, "secrets/atlas_client_secret") },
    });
    expect(daemon.volumes).toEqual([
      `${join(ROOT, "config")}:/app/config:ro`,
      "restore-watch-data:/app/data:rw",
    ]);
    expect(Object.keys(fresh.volumes).sort()).toEqual([
      "grafana-data",
      "prometheus-data",
      "restore-watch-data",
    ]);
  });

  it("runs the demo against the simulator with its demo API key and no secrets", () => {
    const simulator = service(fresh, "simulator");
    expect(simulator.command).toEqual([
      "node",
      "dist/simulator/cli.js",
      "--scenario",
      "config/scenarios/demo.yaml",
      "--host",
      "0.0.0.0",
      "--port",
      "9918",
    ]);
    expect(simulator.secrets).toBeUndefined();
    expect(simulator.ports).toEqual(["127.0.0.1:9918:9918/tcp"]);
    const demo = service(fresh, "restore-watch-demo");
    expect(demo.environment).toEqual({
      RESTORE_WATCH_CONFIG: "/app/config/demo/restore-watch.yaml",
      MONGODB_ATLAS_BASE_URL: "http://simulator:9918",
      RESTORE_WATCH_ALLOW_INSECURE_HTTP: "true",
      MONGODB_ATLAS_PUBLIC_API_KEY: "demopubk",
      MONGODB_ATLAS_PRIVATE_API_KEY: "00000000-0000-0000-0000-00000000demo",
      LOG_LEVEL: null,
    });
    expect(demo.secrets).toBeUndefined();
    expect(demo.depends_on).toEqual({ simulator: { condition: "service_healthy" } });
    expect(demo.tmpfs).toEqual(["/app/data"]);
    expect(demo.command).toBeUndefined();
  });

  it("runs a pinned Prometheus with the rules mounted read-only", () => {
    const prometheus = service(fresh, "prometheus");
    expect(prometheus.profiles).toBeUndefined();
    expect(prometheus.image).toMatch(/^prom\/prometheus:v[23]\.\d+\.\d+$/);
    expect(prometheus.command).toEqual([
      "--config.file=/etc/prometheus/prometheus.yml",
      "--storage.tsdb.path=/prometheus",
    ]);
    expect(prometheus.volumes).toEqual([
      `${join(ROOT, "config/prometheus")}:/etc/prometheus:ro`,
      "prometheus-data:/prometheus:rw",
    ]);
    expect(prometheus.ports).toEqual(["127.0.0.1:9090:9090/tcp"]);
  });

  it("runs a pinned Grafana on 127.0.0.1 with the shipped dashboard and Prometheus provisioned", async () => {
    const grafana = service(fresh, "grafana");
    expect(grafana.profiles).toBeUndefined();
    expect(grafana.image).toMatch(/^grafana\/grafana:\d+\.\d+\.\d+$/);
    expect(grafana.ports).toEqual(["127.0.0.1:3000:3000/tcp"]);
    expect(grafana.depends_on).toEqual({ prometheus: { condition: "service_started" } });
    expect(grafana.environment).toMatchObject({
      GF_AUTH_ANONYMOUS_ENABLED: "true",
      GF_AUTH_ANONYMOUS_ORG_ROLE: "Viewer",
      GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH: "/etc/grafana/dashboards/atlas-restore-watch.json",
    });
    expect(grafana.volumes).toEqual([
      `${join(ROOT, "config/grafana/provisioning")}:/etc/grafana/provisioning:ro`,
      `${join(ROOT, "config/grafana/atlas-restore-watch.json")}:/etc/grafana/dashboards/atlas-restore-watch.json:ro`,
      "grafana-data:/var/lib/grafana:rw",
    ]);
    // What Grafana reads from the mounted folder: a file provider for the mounted dashboard,
    // and the compose Prometheus as the default data source.
    const providers = parse(
      await readFile(
        join(ROOT, "config/grafana/provisioning/dashboards/atlas-restore-watch.yml"),
        "utf8",
      ),
    ) as { providers: { type: string; options: { path: string } }[] };
    expect(providers.providers).toMatchObject([
      { type: "file", options: { path: "/etc/grafana/dashboards" } },
    ]);
    const sources = parse(
      await readFile(join(ROOT, "config/grafana/provisioning/datasources/prometheus.yml"), "utf8"),
    ) as { datasources: Record<string, unknown>[] };
    expect(sources.datasources).toMatchObject([
      { type: "prometheus", url: "http://prometheus:9090", isDefault: true },
    ]);
    const prometheus = service(fresh, "prometheus").ports?.[0] ?? "";
    expect(prometheus.split(":")[2]).toBe("9090/tcp");
  });

  it("reads the same with .env.example as .env and with --profile demo", async () => {
    expect(await composeConfig(join(ROOT, ".env.example"))).toEqual(fresh);
    expect(await composeConfig(emptyEnv, ["--profile", "demo"])).toEqual(fresh);
  });

  it("passes LOG_LEVEL on from .env", async () => {
    const envFile = join(dir, "debug.env");
    await writeFile(envFile, "LOG_LEVEL=debug\n");
    const config = await composeConfig(envFile);
    expect(service(config, "restore-watch").environment?.LOG_LEVEL).toBe("debug");
    expect(service(config, "restore-watch-demo").environment?.LOG_LEVEL).toBe("debug");
  });
});

describe("the simulator's health check", () => {
  let server: Server;
  let script: string;

  beforeAll(async () => {
    const test = service(fresh, "simulator").healthcheck?.test ?? [];
    expect(test.slice(0, 3)).toEqual(["CMD", "node", "-e"]);
    expect(test[3]).toContain("http://127.0.0.1:9918/");
    server = createServer((_request, response) => {
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    script = (test[3] ?? "").replace("127.0.0.1:9918", `127.0.0.1:${port}`);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("passes on any HTTP answer, even a 404", async () => {
    await expect(execFileAsync(process.execPath, ["-e", script])).resolves.toMatchObject({
      stdout: "",
    });
  });

  it("fails when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const refused = script.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`);
    await expect(execFileAsync(process.execPath, ["-e", refused])).rejects.toMatchObject({
      code: 1,
    });
  });
});
