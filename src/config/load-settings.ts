/**
 * Builds the daemon's Settings from the configuration file, the environment (which overrides
 * the file) and defaults, validating each with its zod schema (settings-schema.ts) and reporting
 * every problem at once in a ConfigError.
 */
import { readFile as fsReadFile } from "node:fs/promises";
import { resolve } from "node:path";
import { cleartextProblem } from "./base-url.js";
import { parseCalendarDate } from "./calendar-date.js";
import { ConfigError, type ConfigProblem } from "./config-error.js";
import { locateConfigFile, readConfigFile } from "./config-file.js";
import { readCredentials } from "./credentials.js";
import { CONFIG_DEFAULTS } from "./defaults.js";
import { parsePositiveDuration } from "./duration.js";
import { parseListenAddress } from "./listen-address.js";
import type { Parsed } from "./parsed.js";
import { childKey, quoteValue } from "./problem-text.js";
import {
  ENV_SCHEMAS,
  FILE_KEYS,
  FILE_SCHEMAS,
  check,
  parseDiscoveryInterval,
  unknownKey,
  type FileKey,
  type FileValues,
} from "./settings-schema.js";
import type { Settings } from "./settings.js";

/** What `loadSettings` reads; each IO dependency defaults to the real one. */
export interface LoadSettingsOptions {
  /** From `--config`; wins over `RESTORE_WATCH_CONFIG` and the default path. */
  readonly configPath?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  /** Base for relative paths (configuration file, state file, `_FILE` secrets). */
  readonly cwd?: string;
  /** Reads a whole UTF-8 file; rejects with a Node.js file-system error (its `code` is used). */
  readonly readFile?: (path: string) => Promise<string>;
}

function isFileKey(name: string): name is FileKey {
  return Object.hasOwn(FILE_SCHEMAS, name);
}

/**
 * Loads and validates the settings: the file (`--config`, else `RESTORE_WATCH_CONFIG`, else
 * `config/restore-watch.yaml`), then the environment over it, then defaults. Credentials come
 * only from the environment. Throws a ConfigError listing every problem found: the file's in
 * its own order, then the environment's, then the credentials'.
 */
export async function loadSettings(options: LoadSettingsOptions = {}): Promise<Settings> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const readFile = options.readFile ?? ((path: string) => fsReadFile(path, "utf8"));
  const problems: ConfigProblem[] = [];

  const location = locateConfigFile({ configPath: options.configPath, env, cwd });
  const file = await readConfigFile(location, readFile);
  problems.push(...file.problems);

  const fileValues: FileValues = {};
  for (const [name, value] of Object.entries(file.data ?? {})) {
    if (!isFileKey(name)) {
      problems.push({ key: childKey("", name), message: unknownKey(name, FILE_KEYS) });
      continue;
    }
    const checked = check(FILE_SCHEMAS[name], value, { file: name });
    if (checked.ok) Object.assign(fileValues, { [name]: checked.value });
    else problems.push(...checked.problems);
  }

  const envValues: FileValues = {};
  for (const [variable, { key, schema }] of Object.entries(ENV_SCHEMAS)) {
    const text = env[variable];
    if (text === undefined || text === "") continue;
    const checked = check(schema, text, { variable });
    if (checked.ok) Object.assign(envValues, { [key]: checked.value });
    else problems.push(...checked.problems);
  }

  const { credentials, problems: credentialProblems } = await readCredentials({
    env,
    cwd,
    readFile,
  });
  problems.push(...credentialProblems);

  const baseUrlProblem = cleartextProblem(
    envValues.baseUrl ?? fileValues.baseUrl ?? CONFIG_DEFAULTS.baseUrl,
  );
  if (baseUrlProblem && !(envValues.allowInsecureHttp ?? fileValues.allowInsecureHttp ?? false)) {
    const fromEnv = envValues.baseUrl !== undefined;
    const url = (fromEnv ? envValues.baseUrl : fileValues.baseUrl) ?? "";
    problems.push({
      key: fromEnv ? "MONGODB_ATLAS_BASE_URL" : "baseUrl",
      message: `${quoteValue(url)} ${baseUrlProblem}`,
    });
  }

  if (problems.length > 0 || credentials === undefined) throw new ConfigError(problems);
  const pick = <K extends FileKey>(name: K, fallback: NonNullable<FileValues[K]>) =>
    envValues[name] ?? fileValues[name] ?? fallback;
  return {
    configFile: location.path,
    schedule: pick("schedule", CONFIG_DEFAULTS.schedule),
    api: pick("api", CONFIG_DEFAULTS.api),
    tenantSunset: pick("tenantSunset", defaultOf(parseCalendarDate(CONFIG_DEFAULTS.tenantSunset))),
    listen: pick("listen", defaultOf(parseListenAddress(CONFIG_DEFAULTS.listen))),
    stateFile: resolve(cwd, pick("stateFile", CONFIG_DEFAULTS.stateFile)),
    concurrency: pick("concurrency", CONFIG_DEFAULTS.concurrency),
    finishedRetentionMs: pick(
      "finishedRetention",
      defaultOf(parsePositiveDuration(CONFIG_DEFAULTS.finishedRetention)),
    ),
    logLevel: pick("logLevel", CONFIG_DEFAULTS.logLevel),
    baseUrl: pick("baseUrl", CONFIG_DEFAULTS.baseUrl),
    timeouts: pick("timeouts", CONFIG_DEFAULTS.timeouts),
    credentials,
    jobs: pick("jobs", []),
    watch: pick("watch", []),
    discoveryIntervalMs: pick(
      "discoveryInterval",
      defaultOf(parseDiscoveryInterval(CONFIG_DEFAULTS.discoveryInterval)),
    ),
    enableLifecycle: pick("enableLifecycle", CONFIG_DEFAULTS.enableLifecycle),
    ...(pick("allowInsecureHttp", false) ? { allowInsecureHttp: true } : {}),
    ...optional("healthStaleAfterMs", envValues.healthStaleAfter ?? fileValues.healthStaleAfter),
  };
}

/** `{[key]: value}`, or nothing when the value is undefined (an unset optional setting). */
function optional<K extends string, T>(key: K, value: T | undefined): { [P in K]?: T } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: T };
}

function defaultOf<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new Error(`invalid built-in default: ${parsed.reason}`);
  return parsed.value;
}
