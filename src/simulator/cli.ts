#!/usr/bin/env node
/**
 * Runs the Atlas simulator from the command line:
 * `node dist/simulator/cli.js --scenario FILE [--host H] [--port N] [--clock real|manual]`.
 * Prints one JSON line with its URL, stops on SIGTERM/SIGINT; a bad scenario exits 78.
 */
import "../node-version.js";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { ScenarioError } from "./scenario-error.js";
import { datedForRun } from "./dated-ids.js";
import { loadScenarioFile } from "./scenario-file.js";
import { startSimulator } from "./simulator.js";

const USAGE =
  "Usage: node dist/simulator/cli.js --scenario FILE [--host H] [--port N] [--clock real|manual] " +
  "[--log-level info|debug]\n";

/** sysexits.h: command line usage error. */
const EX_USAGE = 64;
/** sysexits.h: configuration error (here: the scenario). */
const EX_CONFIG = 78;

function usageError(message: string): number {
  process.stderr.write(`simulator: ${message}\n${USAGE}`);
  return EX_USAGE;
}

async function main(): Promise<number> {
  let values;
  try {
    values = parseArgs({
      options: {
        scenario: { type: "string" },
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: "0" },
        clock: { type: "string", default: "real" },
        "log-level": { type: "string", default: "info" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    return usageError(error instanceof Error ? error.message : String(error));
  }
  if (values.scenario === undefined) return usageError("--scenario FILE is required");
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    return usageError(`--port: "${values.port}" is not a port number`);
  }
  if (values.clock !== "real" && values.clock !== "manual") {
    return usageError(`--clock: "${values.clock}" must be real or manual`);
  }
  const logLevel = values["log-level"];
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    return usageError(`--log-level: "${logLevel}" is not a pino level`);
  }

  let scenario;
  try {
    scenario = await loadScenarioFile(values.scenario);
  } catch (error) {
    if (error instanceof ScenarioError) {
      const lines = error.problems.map((p) => `  ${p}`).join("\n");
      process.stderr.write(`simulator: invalid scenario ${values.scenario}:\n${lines}\n`);
      return EX_CONFIG;
    }
    throw error;
  }

  // JSON on stdout only; no pid/hostname: one line a reader can parse.
  const logger = pino({ level: logLevel, base: null });
  // On the real clock, dedicated jobs' ids are dated to this run, as Atlas's ids are to their job.
  const startTime = Date.now();
  const simulator = await startSimulator({
    scenario: values.clock === "real" ? datedForRun(scenario, startTime) : scenario,
    startTime,
    host: values.host,
    port,
    clock: values.clock,
    logger,
  });
  logger.info({ url: simulator.url, clock: values.clock }, "simulator listening");

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  await simulator.close();
  logger.info({ signal }, "simulator stopped");
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`simulator: ${message}\n`);
    process.exitCode = 1;
  },
);
