#!/usr/bin/env node
/**
 * The demo: the Atlas simulator playing config/scenarios/demo.yaml, and the daemon (the real
 * `node dist/main.js` with config/demo/restore-watch.yaml) watching its project of Flex clusters,
 * polled every two seconds. No Atlas account needed. Standard output is for people: the status
 * page's address first, then one readable line per line the daemon logs (its JSON, formatted by
 * log-format.ts); the demo's own notes go to stderr. Ctrl-C stops both.
 */
import "../node-version.js";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { datedForRun, loadScenarioFile, startSimulator } from "../simulator/index.js";
import { formatLogLine } from "./log-format.js";

const USAGE = `Usage: npm run demo -- [--port N] [--until-done]

  --port N       where the daemon serves its status page and /metrics (default 9917; 0 picks a
                 free port)
  --until-done   stop once every restore job the scenario runs has finished
`;

const root = new URL("../..", import.meta.url);
const scenarioPath = fileURLToPath(new URL("config/scenarios/demo.yaml", root));
const configPath = fileURLToPath(new URL("config/demo/restore-watch.yaml", root));
const mainPath = fileURLToPath(new URL("dist/main.js", root));

function note(text: string): void {
  process.stderr.write(`demo: ${text}\n`);
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: { port: { type: "string", default: "9917" }, "until-done": { type: "boolean" } },
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 64;
  }
  const port = Number(args.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port: "${args.port}" is not a port number\n\n${USAGE}`);
    return 64;
  }
  const startTime = Date.now();
  const scenario = datedForRun(await loadScenarioFile(scenarioPath), startTime);
  const apiKey = scenario.apiKeys[0];
  if (!apiKey) throw new Error(`${scenarioPath} has no API key`);
  const simulator = await startSimulator({ scenario, startTime });
  const dir = await mkdtemp(join(tmpdir(), "atlas-restore-watch-demo-"));
  note(`simulated Atlas at ${simulator.url}, playing ${scenarioPath}`);
  note(`starting the daemon: node dist/main.js --config ${configPath}`);

  const child = spawn(process.execPath, [mainPath, "--config", configPath], {
    env: {
      PATH: process.env.PATH ?? "",
      MONGODB_ATLAS_BASE_URL: simulator.url,
      MONGODB_ATLAS_PUBLIC_API_KEY: apiKey.publicKey,
      MONGODB_ATLAS_PRIVATE_API_KEY: apiKey.privateKey,
      RESTORE_WATCH_LISTEN: `127.0.0.1:${port}`,
      RESTORE_WATCH_STATE_FILE: join(dir, "state.json"),
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "inherit"],
    // Its own process group: Ctrl-C reaches the demo, which stops the daemon exactly once.
    detached: true,
  });
  const finished = new Set<string>();
  // The jobs the scenario runs: those it starts at t=0 or later (the others are old history).
  const current = scenario.jobs.filter((job) => job.createdAfterSeconds >= 0).length;
  const lines = createInterface({ input: child.stdout });
  const colour = process.stdout.isTTY === true;
  lines.on("line", (line) => {
    let entry: Record<string, unknown> = {};
    try {
      entry = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // Not JSON: shown as it is below.
    }
    if (entry.event === "daemon_started") {
      const base = `http://${String(entry.listen).replace("0.0.0.0", "127.0.0.1")}`;
      process.stdout.write(`Status page: ${base}/  (metrics: ${base}/metrics)\n`);
    }
    process.stdout.write(`${formatLogLine(line, colour)}\n`);
    if (
      entry.event === "restore_transition" &&
      (entry.to === "COMPLETED" || entry.to === "FAILED" || entry.to === "CANCELLED")
    ) {
      finished.add(String(entry.restoreId));
      if (args["until-done"] && finished.size === current) stop("all jobs finished");
    }
  });
  let stopped = false;
  const stop = (why: string) => {
    if (stopped) return;
    stopped = true;
    note(`${why}: stopping the daemon`);
    child.kill("SIGTERM");
  };
  process.on("exit", () => child.kill("SIGKILL"));
  process.on("SIGINT", () => stop("interrupted"));
  process.on("SIGTERM", () => stop("terminated"));
  const code = await new Promise<number>((resolve) =>
    child.on("exit", (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0))),
  );
  await simulator.close();
  await rm(dir, { recursive: true, force: true });
  note(`daemon exited with code ${code}`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
