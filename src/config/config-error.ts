/** The one error configuration loading throws: every problem found, each naming its key. */

/** One thing wrong with the configuration: where (a key path or variable name) and what. */
export interface ConfigProblem {
  /** A key path (`jobs[2].restoreId`), an environment variable name or a file path. */
  readonly key: string;
  /** What is wrong, quoting the bad value unless it is a secret. */
  readonly message: string;
}

/** Thrown before anything starts when the configuration is invalid; lists every problem. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  /** Stable code to branch on. */
  readonly code = "CONFIG_INVALID";
  /** Every problem found, in the order they were found. */
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    const lines = problems.map((problem) => `  ${formatProblem(problem)}`);
    super([`invalid configuration (${count}):`, ...lines].join("\n"));
    this.problems = problems;
  }
}

/** One problem as a single line, `key: message`. */
export function formatProblem(problem: ConfigProblem): string {
  return `${problem.key}: ${problem.message}`;
}
