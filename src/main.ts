#!/usr/bin/env node
/**
 * The command line: reads the configuration, then runs the daemon until SIGTERM or SIGINT (SIGHUP
 * reloads the configuration), or with `wait` first, waits for restore jobs and exits with their
 * outcome. The only module that
 * touches the process: arguments, environment, signals and the exit code. A user mistake ends
 * with a clear message and exit 64 (EX_USAGE) or 78 (EX_CONFIG), never a stack trace.
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
import { runWait } from "./commands/wait.js";
import { loadAtlasAccess, type AtlasAccess } from "./config/atlas-access.js";
import { parseWaitArgs, resolveGroupId, WAIT_USAGE } from "./config/wait-args.js";
import { createLogger, stdoutDestination, type Logger } from "./logger.js";
import { VERSION } from "./version.js";

/**
 * Exit 0 this long after SIGTERM or SIGINT whatever still runs: container runtimes kill after
 * 10 s. The daemon's own stop fits well within it (see SHUTDOWN_GRACE_MS); this is the net below
 * it. Exiting without the final save is safe: each cycle saves its state in the same synchronous
 * step that logs its lines.
 */
const SHUTDOWN_DEADLINE_MS = 9_000;

/** sysexits.h: configuration error, and command-line usage error. */
const EX_CONFIG = 78;
const EX_USAGE = 64;

/** The conventional exit code after SIGINT (128 + 2); `wait` uses it for SIGTERM too. */
const EX_INTERRUPTED = 130;

async function main(argv: readonly string[]): Promise<number> {
  // `wait` writes with process.stdout and process.stderr, which may be asynchronous on a pipe.
  if (argv[0] === "wait") return afterOutput(await wait(argv.slice(1)));
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
  const load = () =>
    loadSettings({
      ...(args.config !== undefined ? { configPath: args.config } : {}),
      env: process.env,
      cwd: process.cwd(),
    });
  let settings;
  try {
    loadDotenv({ cwd: process.cwd(), env: process.env });
    settings = await load();
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
  return run(
    new Daemon(settings, {
      logger,
      holdLines: stdout.hold,
      loadSettings: load,
      env: process.env,
    }),
    logger,
  );
}

/** What SIGTERM and SIGINT do: until the daemon exists there is nothing to save, so exit. */
let onSignal: (signal: NodeJS.Signals) => void = () => process.exit(0);
process.on("SIGTERM", (signal) => onSignal(signal));
process.on("SIGINT", (signal) => onSignal(signal));
/** What SIGHUP does: nothing until the daemon runs, then a reload (it logs its own outcome). */
let onHangup: () => void = () => undefined;
process.on("SIGHUP", () => onHangup());

/** `wait`: the command line, then the environment, then the wait itself. */
async function wait(argv: readonly string[]): Promise<number> {
  // Interrupted before anything was fetched: nothing to revoke.
  onSignal = () => process.exit(EX_INTERRUPTED);
  const usageError = (error: string): number => {
    process.stderr.write(`atlas-restore-watch wait: ${error}\n\n${WAIT_USAGE}`);
    return EX_USAGE;
  };
  const args = parseWaitArgs(argv);
  if ("error" in args) return usageError(args.error);
  if ("help" in args) {
    process.stdout.write(WAIT_USAGE);
    return 0;
  }
  let project: ReturnType<typeof resolveGroupId>;
  let access: AtlasAccess;
  try {
    loadDotenv({ cwd: process.cwd(), env: process.env });
    project = resolveGroupId(args, process.env);
    if ("error" in project) return usageError(project.error);
    access = await loadAtlasAccess({ env: process.env, cwd: process.cwd() });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`atlas-restore-watch wait: ${error.message}\n`);
      return EX_CONFIG;
    }
    throw error;
  }
  const interrupt = new AbortController();
  onSignal = (signal) => {
    // A second signal does not wait for the token's revocation.
    if (interrupt.signal.aborted) process.exit(EX_INTERRUPTED);
    interrupt.abort(signal);
  };
  return runWait(
    { ...args, groupId: project.groupId },
    {
      access,
      stdout: (line) => process.stdout.write(`${line}\n`),
      stderr: (line) => process.stderr.write(`${line}\n`),
      interrupt: interrupt.signal,
    },
  );
}

async function run(daemon: Daemon, logger: Logger): Promise<number> {
  let stopping: Promise<number> | undefined;
  const stop = (signal: NodeJS.Signals): Promise<number> => {
    if (stopping) {
      logger.warn({ event: "shutdown_forced", signal }, "second signal: exiting at once");
      process.exit(1);
    }
    logger.info({ event: "shutdown", signal }, "shutting down");
    setTimeout(() => {
      logger.warn(
        { event: "shutdown_deadline", seconds: SHUTDOWN_DEADLINE_MS / 1000 },
        "shutdown took too long; exiting now",
      );
      process.exit(0);
    }, SHUTDOWN_DEADLINE_MS).unref();
    stopping = daemon.stop().then(() => 0);
    return stopping;
  };
  const exited = new Promise<number>((resolve) => {
    onSignal = (signal) => resolve(stop(signal));
  });
  onHangup = () => {
    if (!stopping) void daemon.reload();
  };
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

/** Resolves with `code` once stdout and stderr have taken what was written to them. */
function afterOutput(code: number): Promise<number> {
  return new Promise((resolve) => {
    let pending = 2;
    const done = (): void => {
      pending -= 1;
      if (pending === 0) resolve(code);
    };
    process.stdout.write("", done);
    process.stderr.write("", done);
  });
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
