// No Docker engine here or in CI: the Dockerfile is checked as text, and its health check is run
// with node against real sockets.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { argsOf, isInContext, readDockerignore, readStages, type Stage } from "./dockerfile.js";
import { ROOT } from "./tools.js";

const execFileAsync = promisify(execFile);

let dockerfile: Stage[];
let build: Stage;
let runtime: Stage;
let ignore: string[];

beforeAll(async () => {
  dockerfile = await readStages(ROOT);
  const first = dockerfile[0];
  const last = dockerfile.at(-1);
  if (!first || !last) throw new Error("the Dockerfile has no stage");
  build = first;
  runtime = last;
  ignore = await readDockerignore(ROOT);
});

describe("Dockerfile", () => {
  it("builds on a pinned node 24 bookworm-slim and runs on the same base", () => {
    expect(dockerfile).toHaveLength(2);
    expect(argsOf(build, "FROM")[0]).toMatch(/^node:24\.\d+\.\d+-bookworm-slim AS build$/);
    expect(argsOf(runtime, "FROM")[0]).toBe(argsOf(build, "FROM")[0]?.replace(/ AS build$/, ""));
  });

  it("pins the same Node.js as CI's .ci/use-node and as package.json's engines", async () => {
    const image = /^node:(\d+\.\d+\.\d+)-/.exec(argsOf(build, "FROM")[0] ?? "")?.[1];
    const useNode = await readFile(join(ROOT, ".ci", "use-node"), "utf8");
    expect(/^ARW_NODE_VERSION=(\S+)$/m.exec(useNode)?.[1]).toBe(image);
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toBe(`^${image?.split(".")[0]}.0.0`);
  });

  it("compiles in the build stage from the lockfile", () => {
    expect(argsOf(build, "COPY")).toEqual([
      "package.json package-lock.json ./",
      "tsconfig.json tsconfig.build.json ./",
      "src ./src",
    ]);
    expect(argsOf(build, "RUN")).toEqual([
      "npm ci --ignore-scripts --no-audit --no-fund",
      "npm run build",
    ]);
  });

  it("ships production dependencies, dist and config only, installed before the code is copied", () => {
    expect(argsOf(runtime, "COPY")).toEqual([
      "package.json package-lock.json ./",
      "--from=build /app/dist ./dist",
      "config ./config",
    ]);
    const order = runtime.instructions.map(
      (instruction) => `${instruction.keyword} ${instruction.args}`,
    );
    const install = order.findIndex((line) => line.startsWith("RUN npm ci --omit=dev"));
    expect(install).toBeGreaterThan(order.indexOf("COPY package.json package-lock.json ./"));
    expect(install).toBeLessThan(order.indexOf("COPY --from=build /app/dist ./dist"));
    const runs = argsOf(runtime, "RUN").join("\n");
    expect(runs).not.toContain("npm run build");
    expect(runs).not.toMatch(/npm (ci|install)(?! --omit=dev)/);
    for (const copy of argsOf(runtime, "COPY")) {
      expect(copy).not.toMatch(/\b(src|test|bench)\b/);
    }
  });

  it("runs node directly as the non-root node user, with the daemon's port, state and signals", () => {
    expect(argsOf(runtime, "USER")).toEqual(["node"]);
    expect(argsOf(runtime, "WORKDIR")).toEqual(["/app"]);
    expect(argsOf(runtime, "ENV")).toEqual([
      "NODE_ENV=production",
      'NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=128"',
      "MALLOC_ARENA_MAX=1",
    ]);
    expect(argsOf(runtime, "EXPOSE")).toEqual(["9917"]);
    expect(argsOf(runtime, "VOLUME")).toEqual(["/app/data"]);
    expect(argsOf(runtime, "STOPSIGNAL")).toEqual(["SIGTERM"]);
    expect(argsOf(runtime, "ENTRYPOINT")).toEqual([]);
    expect(argsOf(runtime, "CMD").map((cmd) => JSON.parse(cmd) as unknown)).toEqual([
      ["node", "dist/main.js"],
    ]);
    // The volume's directory belongs to node before VOLUME, and nothing runs as root after USER.
    const order = runtime.instructions.map((instruction) => instruction.keyword);
    expect(argsOf(runtime, "RUN")).toContain("mkdir -p /app/data && chown node:node /app/data");
    expect(order.lastIndexOf("RUN")).toBeLessThan(order.indexOf("USER"));
    expect(order.indexOf("USER")).toBeLessThan(order.indexOf("VOLUME"));
  });

  it("carries OCI labels", () => {
    const labels = argsOf(runtime, "LABEL").join(" ");
    for (const key of ["title", "description", "licenses", "version", "revision"]) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
    expect(labels).toContain('org.opencontainers.image.licenses="Apache-2.0"');
  });
});

describe(".dockerignore", () => {
  it("allows only what the Dockerfile copies", () => {
    expect(ignore[0]).toBe("*");
    // The checker above knows literal names and `*` only.
    for (const pattern of ignore) expect(pattern).toMatch(/^!?[\w./*-]+$/);
    const sources = dockerfile
      .flatMap((stage) => stage.instructions)
      .filter((instruction) => instruction.keyword === "COPY" && !instruction.args.startsWith("--"))
      .flatMap((instruction) => instruction.args.split(/\s+/).slice(0, -1));
    expect(new Set(sources)).toEqual(
      new Set([
        "package.json",
        "package-lock.json",
        "tsconfig.json",
        "tsconfig.build.json",
        "src",
        "config",
      ]),
    );
    for (const source of sources) expect(isInContext(ignore, source), source).toBe(true);
    expect(isInContext(ignore, "src/atlas/client.ts")).toBe(true);
    expect(isInContext(ignore, "config/scenarios/demo.yaml")).toBe(true);
    for (const path of [
      ".env",
      "secrets/atlas_client_secret",
      "data/state.json",
      "node_modules/pino/package.json",
      "dist/main.js",
      ".git/HEAD",
      "test/prometheus/tools.ts",
      "config/prometheus/alerts.yml",
      "docker-compose.yml",
    ]) {
      expect(isInContext(ignore, path), path).toBe(false);
    }
  });
});

describe("HEALTHCHECK", () => {
  let healthy: Server;
  let status = 200;
  let script: string;

  beforeAll(async () => {
    const healthcheck = argsOf(runtime, "HEALTHCHECK");
    expect(healthcheck).toHaveLength(1);
    const match = /^((?:--\S+\s+)*)CMD (\[.*\])$/.exec(healthcheck[0] ?? "");
    expect(match?.[1]).toContain("--timeout=5s");
    const command = JSON.parse(match?.[2] ?? "null") as string[];
    expect(command.slice(0, 2)).toEqual(["node", "-e"]);
    expect(command[2]).toContain("http://127.0.0.1:9917/healthz");
    healthy = createServer((request, response) => {
      if (request.url === "/hang") return; // never answers
      response.writeHead(request.url === "/healthz" ? status : 404).end();
    });
    await new Promise<void>((resolve) => healthy.listen(0, "127.0.0.1", resolve));
    const { port } = healthy.address() as AddressInfo;
    script = (command[2] ?? "").replace("127.0.0.1:9917", `127.0.0.1:${port}`);
  });
  afterAll(async () => {
    healthy.closeAllConnections();
    await new Promise((resolve) => healthy.close(resolve));
  });

  async function exitCode(code: string): Promise<number> {
    try {
      await execFileAsync(process.execPath, ["-e", code], { timeout: 10_000 });
      return 0;
    } catch (error) {
      return (error as { code: number }).code;
    }
  }

  it("exits 0 while /healthz answers 200", async () => {
    status = 200;
    expect(await exitCode(script)).toBe(0);
  });

  it("exits 1 when /healthz answers 503", async () => {
    status = 503;
    expect(await exitCode(script)).toBe(1);
  });

  it("exits 1 when nothing listens", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    expect(await exitCode(script.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`))).toBe(1);
  });

  it("exits 1 within its own 3 s timeout when the daemon hangs", async () => {
    const started = Date.now();
    expect(await exitCode(script.replace("/healthz", "/hang"))).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
