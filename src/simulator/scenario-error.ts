/** The error every invalid scenario or fault turns into: each problem names its key and value. */
import type { z } from "zod";

/** A scenario (or fault) that cannot be used; `problems` has one line per bad key. */
export class ScenarioError extends Error {
  readonly code = "SCENARIO_INVALID";
  /** One entry per problem, each starting with the key path, e.g. `jobs[2].script[1].status`. */
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[], options?: { cause?: unknown }) {
    super(`${source}: ${problems.join("; ")}`, options);
    this.name = "ScenarioError";
    this.problems = problems;
  }
}

/** Formats a key path the way a reader writes it: `jobs[2].script[1].status`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? "(top level)" : out;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Turns zod issues (parsed with `reportInput: true`) into one line per bad key and value. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys)
        lines.push(`${formatKeyPath([...issue.path, key])}: unknown key`);
      continue;
    }
    const where = formatKeyPath(issue.path);
    const got = issue.input === undefined ? "" : ` (got ${preview(issue.input)})`;
    const message =
      issue.input === undefined && issue.code === "invalid_type" ? "is required" : issue.message;
    lines.push(`${where}: ${message}${got}`);
  }
  return lines;
}
