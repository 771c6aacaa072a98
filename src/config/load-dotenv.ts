/** A `.env` file in the working directory, filling only variables the environment lacks. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "dotenv";
import { ConfigError } from "./config-error.js";
import { describeReadError } from "./problem-text.js";

/** What `loadDotenv` reads and fills; each IO dependency defaults to the real one. */
export interface LoadDotenvOptions {
  /** The directory holding `.env`. */
  readonly cwd?: string;
  /** The environment to fill (mutated); only `main` should pass `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Reads a whole UTF-8 file; throws a Node.js file-system error (its `code` is used). */
  readonly readFile?: (path: string) => string;
}

/** What `loadDotenv` did: the file it looked for and the variable names it set (never values). */
export interface DotenvResult {
  readonly path: string;
  readonly found: boolean;
  readonly loaded: readonly string[];
}

/**
 * Reads `<cwd>/.env` with dotenv's parser and copies each variable into `env` unless `env`
 * already has a non-empty value: the real environment always wins, as with dotenv's default.
 * Parsing prints nothing (dotenv `quiet`), since stdout carries JSON only. A missing file is
 * fine; an unreadable one throws a ConfigError keyed by its path. Synchronous, so it finishes
 * before the settings are read.
 */
export function loadDotenv(options: LoadDotenvOptions = {}): DotenvResult {
  const path = resolve(options.cwd ?? process.cwd(), ".env");
  const env = options.env ?? process.env;
  const readFile = options.readFile ?? ((file: string) => readFileSync(file, "utf8"));
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    if ((error as { code?: unknown } | null)?.code === "ENOENT") {
      return { path, found: false, loaded: [] };
    }
    throw new ConfigError([{ key: path, message: `.env file ${describeReadError(error)}` }]);
  }
  const loaded: string[] = [];
  for (const [name, value] of Object.entries(parse(text))) {
    // An empty variable counts as unset everywhere in the configuration, so .env may fill it.
    if (env[name] === undefined || env[name] === "") {
      env[name] = value;
      loaded.push(name);
    }
  }
  return { path, found: true, loaded };
}
