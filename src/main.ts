#!/usr/bin/env node
/**
 * The command line: reads the configuration, then runs the daemon until SIGTERM or SIGINT. The
 * only module that touches the process: arguments, environment, signals and the exit code.
 * A user mistake ends with a clear message and exit 78 (EX_CONFIG), never a stack trace.
 */
import "./node-version.js";
import {
  ConfigError,
  describeSettings,
  loadDotenv,
  loadSettings,
  parseCliArgs,
  USAGE,
} from "./config/index.js";
import { Daemon } from "./commands/daemon.js";
import { createLogger, stdoutDestination, type Logger } from "./logger.js";
import { VERSION } from "./version.js";

/** sysexits.h: configuration error, and command-line usage error. */
const EX_CONFIG = 78;
const EX_USAGE = 64;

async function main(argv: readonly string[]): Promise<number> {
  const args = parseCliArgs(argv);
  if ("error" in args) {
    process.stderr.write(`atlas-restore-watch: ${args.error}\n\n${USAGE}`);
    return EX_USAGE;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  let settings;
  try {
    loadDotenv({ cwd: process.cwd(), env: process.env });
    settings = await loadSettings({
      ...(args.config !== undefined ? { configPath: args.config } : {}),
      env: process.env,
      cwd: process.cwd(),
    });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`atlas-restore-watch: ${error.message}\n`);
      return EX_CONFIG;
    }
    throw error;
  }
  if (args.checkConfig) {
    process.stdout.write(`${JSON.stringify(describeSettings(settings), null, 2)}\n`);
    return 0;
  }
  const stdout = stdoutDestination();
  const logger = createLogger(settings.logLevel, stdout);
  return run(new Daemon(settings, { logger, holdLines: stdout.hold }), logger);
}

/** What SIGTERM and SIGINT do: until the daemon exists there is nothing to save, so exit. */
let onSignal: (signal: NodeJS.Signals) => void = () => process.exit(0);
process.on("SIGTERM", (signal) => onSignal(signal));
process.on("SIGINT", (signal) => onSignal(signal));

async function run(daemon: Daemon, logger: Logger): Promise<number> {
  let stopping: Promise<number> | undefined;
  const stop = (signal: NodeJS.Signals): Promise<number> => {
    if (stopping) {
      logger.warn({ event: "shutdown_forced", signal }, "second signal: exiting at once");
      process.exit(1);
    }
    logger.info({ event: "shutdown", signal }, "shutting down");
    stopping = daemon.stop().then(() => 0);
    return stopping;
  };
  const exited = new Promise<number>((resolve) => {
    onSignal = (signal) => resolve(stop(signal));
  });
  try {
    await daemon.start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      logger.fatal(
        { event: "listen_failed", error: code },
        "cannot listen on the configured address",
      );
      return EX_CONFIG;
    }
    throw error;
  }
  return exited;
}

process.on("unhandledRejection", (reason) => {
  process.stderr.write(`atlas-restore-watch: internal error: ${String(reason)}\n`);
  process.exit(70);
});

main(process.argv.slice(2)).then(
  (code) => {
    // Log lines are written synchronously, so nothing is lost by exiting at once.
    process.exit(code);
  },
  (error: unknown) => {
    process.stderr.write(
      `atlas-restore-watch: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(70);
  },
);
