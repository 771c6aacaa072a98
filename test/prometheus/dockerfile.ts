/**
 * Reads the Dockerfile and .dockerignore as text, for tests that follow them outside Docker. Only
 * the forms this project's Dockerfile uses are understood; anything else throws, so a new form
 * is taught here rather than silently misread.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** One instruction: keyword in upper case, arguments with continuation lines joined. */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** One stage: its name (`AS name`, if any) and its instructions, FROM first. */
export interface Stage {
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

/** Instructions in order: continuation lines joined, comments and blank lines dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let pending = "";
  for (const line of text.split("\n")) {
    if (/^\s*#/.test(line) || (pending === "" && line.trim() === "")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(pending + line.trim());
    pending = "";
  }
  return logical.map((line) => {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    return { keyword: (match?.[1] ?? "").toUpperCase(), args: match?.[2] ?? "" };
  });
}

/** The stages of a Dockerfile, split at FROM. */
export function parseStages(text: string): Stage[] {
  const result: { name: string | undefined; instructions: Instruction[] }[] = [];
  for (const instruction of parseDockerfile(text)) {
    if (instruction.keyword === "FROM") {
      const name = /\sAS\s+(\S+)$/i.exec(instruction.args)?.[1];
      result.push({ name, instructions: [] });
    }
    const stage = result.at(-1);
    if (!stage) throw new Error(`${instruction.keyword} before the first FROM`);
    stage.instructions.push(instruction);
  }
  return result;
}

/** Reads the repository's Dockerfile into stages. */
export async function readStages(root: string): Promise<Stage[]> {
  return parseStages(await readFile(join(root, "Dockerfile"), "utf8"));
}

/** The arguments of every `keyword` instruction of a stage, in order. */
export function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** The exec form of CMD, ENTRYPOINT or HEALTHCHECK CMD: a JSON array of strings. */
export function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === "string")) {
    throw new Error(`not an exec form (JSON array of strings): ${args}`);
  }
  return parsed;
}

/** A COPY instruction: `--from` (a stage name) if given, the sources and the destination. */
export interface Copy {
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
}

/** Parses the shell form of COPY with an optional `--from=stage`; other flags throw. */
export function parseCopy(args: string): Copy {
  if (args.startsWith("[")) throw new Error(`COPY in JSON form is not understood: ${args}`);
  const words = args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith("--")) {
    const flag = words.shift() ?? "";
    const match = /^--from=(\S+)$/.exec(flag);
    if (!match) throw new Error(`COPY flag not understood: ${flag}`);
    from = match[1];
  }
  const destination = words.pop();
  if (destination === undefined || words.length === 0) throw new Error(`COPY ${args}: no source`);
  return { from, sources: words, destination };
}

/** ENV in the `KEY=value KEY2=value2` form without quotes; other forms throw. */
export function parseEnv(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  // NAME=value pairs; a value may be double-quoted (spaces inside, no $ or backslash).
  const pair = /([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"$\\]*)"|([^"'\s$\\]*))(?:\s+|$)/y;
  let index = 0;
  while (index < args.length) {
    pair.lastIndex = index;
    const match = pair.exec(args);
    if (!match) throw new Error(`ENV not understood: ${args}`);
    env[match[1] ?? ""] = match[2] ?? match[3] ?? "";
    index = pair.lastIndex;
  }
  return env;
}

/** The .dockerignore patterns, comments and blank lines dropped. */
export async function readDockerignore(root: string): Promise<string[]> {
  return (await readFile(join(root, ".dockerignore"), "utf8"))
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

/**
 * Docker's rule for one path of the build context: the last pattern matching the path or one of
 * its parents decides. Literal names and `*` only (dockerfile.test.ts holds .dockerignore to that).
 */
export function isInContext(patterns: readonly string[], path: string): boolean {
  const parts = path.split("/");
  let included = true;
  for (const raw of patterns) {
    const negated = raw.startsWith("!");
    const pattern = (negated ? raw.slice(1) : raw).replace(/\/$/, "");
    if (!/^[\w./*-]+$/.test(pattern))
      throw new Error(`.dockerignore pattern not understood: ${raw}`);
    const regex = new RegExp(
      `^${pattern.replace(/[.+^${}()|\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`,
    );
    const matches = parts.some((_, index) => regex.test(parts.slice(0, index + 1).join("/")));
    if (matches) included = negated;
  }
  return included;
}
