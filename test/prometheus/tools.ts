/**
 * Runs the real command-line tools the container and alert tests check with: promtool and
 * docker-compose, from Debian's packages. A missing tool fails the test, never skips it.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** The repository root: every path in these tests is relative to it, as in the docs. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A command and the Debian package that installs it. */
export interface Tool {
  readonly command: string;
  readonly debianPackage: string;
}

/** Prometheus's checker and unit-test runner. */
export const PROMTOOL: Tool = { command: "promtool", debianPackage: "prometheus" };

/** Compose v1 (1.29 in Debian 12), the oldest reader the compose file must satisfy. */
export const DOCKER_COMPOSE: Tool = { command: "docker-compose", debianPackage: "docker-compose" };

/** How a finished command ended. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options for `run`; the working directory defaults to the repository root. */
export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs `tool` with `args` (no shell) and returns its exit code and output, whatever the code.
 * Throws when the tool is not installed, naming the package to install.
 */
export async function run(
  tool: Tool,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync(tool.command, args, {
      cwd: options.cwd ?? ROOT,
      env: options.env ?? process.env,
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & {
      code?: number | string;
      stdout?: string;
      stderr?: string;
    };
    if (failure.code === "ENOENT") {
      throw new Error(
        `${tool.command} is not installed: install Debian's ${tool.debianPackage} package ` +
          `(apt-get install ${tool.debianPackage}); these tests need the real tool and do not skip`,
        { cause: error },
      );
    }
    if (typeof failure.code === "number") {
      return { code: failure.code, stdout: failure.stdout ?? "", stderr: failure.stderr ?? "" };
    }
    throw error;
  }
}
