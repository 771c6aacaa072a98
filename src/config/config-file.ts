/** Finding and parsing the configuration file (YAML, or JSON since JSON is YAML). */
import { resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import type { ConfigProblem } from "./config-error.js";
import { describeReadError, isMapping, kindOf } from "./problem-text.js";

/** The configuration file used when neither `--config` nor `RESTORE_WATCH_CONFIG` is set. */
export const DEFAULT_CONFIG_PATH = "config/restore-watch.yaml";

/** The variable naming the configuration file. */
export const CONFIG_PATH_VARIABLE = "RESTORE_WATCH_CONFIG";

/** How the configuration file was chosen, for messages about it. */
export type ConfigFileOrigin = "--config" | typeof CONFIG_PATH_VARIABLE | "default";

/** The configuration file to read: an absolute path and how it was chosen. */
export interface ConfigFileLocation {
  readonly path: string;
  readonly origin: ConfigFileOrigin;
}

/** Chooses the file: `--config`, else `RESTORE_WATCH_CONFIG`, else the default, against `cwd`. */
export function locateConfigFile(options: {
  readonly configPath?: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}): ConfigFileLocation {
  const fromEnv = options.env[CONFIG_PATH_VARIABLE];
  if (options.configPath !== undefined && options.configPath !== "") {
    return { path: resolve(options.cwd, options.configPath), origin: "--config" };
  }
  if (fromEnv !== undefined && fromEnv !== "") {
    return { path: resolve(options.cwd, fromEnv), origin: CONFIG_PATH_VARIABLE };
  }
  return { path: resolve(options.cwd, DEFAULT_CONFIG_PATH), origin: "default" };
}

/** The parsed top-level mapping, or undefined with the problems that prevented it. */
export interface ConfigFileContent {
  readonly data: Readonly<Record<string, unknown>> | undefined;
  readonly problems: readonly ConfigProblem[];
}

/**
 * Reads and parses the file. Problems are keyed by the file's path; a YAML syntax error gives
 * its line and column. An empty file is an empty mapping.
 */
export async function readConfigFile(
  location: ConfigFileLocation,
  readFile: (path: string) => Promise<string>,
): Promise<ConfigFileContent> {
  const key = location.path;
  let text: string;
  try {
    text = await readFile(location.path);
  } catch (error) {
    const how =
      location.origin === "default"
        ? "the default path; pass --config FILE or set RESTORE_WATCH_CONFIG to use another"
        : `from ${location.origin}`;
    return {
      data: undefined,
      problems: [{ key, message: `configuration file ${describeReadError(error)} (${how})` }],
    };
  }

  const data = parseJsonObject(text) ?? parseYaml(text, key);
  if ("problems" in data) return { data: undefined, problems: data.problems };
  return topLevel(data.value, key);
}

/**
 * A file that holds one JSON object, parsed as JSON. At thousands of configured jobs the YAML
 * parser's document of a 1 MB file takes some 60 MB, JSON.parse's result a tenth of that. A key
 * repeated in JSON keeps its last value, as JSON.parse does. Anything else, including JSON with
 * an error, goes to the YAML parser, which says where the error is.
 */
function parseJsonObject(text: string): { value: unknown } | undefined {
  if (!text.trimStart().startsWith("{")) return undefined;
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return undefined;
  }
}

function parseYaml(text: string, key: string): { value: unknown } | { problems: ConfigProblem[] } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    return {
      problems: document.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        const reason = error.message.split("\n")[0] ?? error.message;
        return { key, message: `YAML syntax error at line ${line}, column ${col}: ${reason}` };
      }),
    };
  }
  return { value: document.toJS({ maxAliasCount: 100 }) as unknown };
}

/** The top-level mapping, or the problem that it is not one; empty for an empty file. */
function topLevel(data: unknown, key: string): ConfigFileContent {
  if (data === null || data === undefined) return { data: {}, problems: [] };
  if (!isMapping(data)) {
    return {
      data: undefined,
      problems: [
        { key, message: `expected a mapping of settings at the top level, got ${kindOf(data)}` },
      ],
    };
  }
  return { data, problems: [] };
}
