/**
 * Builds the daemon's Settings from the configuration file, the environment (which overrides
 * the file) and defaults, reporting every problem at once in a ConfigError.
 */
import { readFile as fsReadFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Timeouts } from "../atlas/transport.js";
import { parseBaseUrl, redactUrlUserInfo } from "./base-url.js";
import { parseCalendarDate } from "./calendar-date.js";
import { ConfigError, type ConfigProblem } from "./config-error.js";
import { locateConfigFile, readConfigFile } from "./config-file.js";
import { parseCronExpression } from "./cron-expression.js";
import { readCredentials } from "./credentials.js";
import {
  API_MODES,
  CONCURRENCY_RANGE,
  CONFIG_DEFAULTS,
  LOG_LEVELS,
  MAX_TIMEOUT_MS,
  MIN_DISCOVERY_INTERVAL_MS,
} from "./defaults.js";
import { NOT_A_DURATION, formatDuration, parsePositiveDuration } from "./duration.js";
import { parseListenAddress } from "./listen-address.js";
import { accept, refuse, type Parsed } from "./parsed.js";
import { childKey, isMapping, itemKey, quoteValue } from "./problem-text.js";
import type { ApiMode, JobSettings, ListenAddress, Settings, WatchEntry } from "./settings.js";

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

/** The settings the file and the environment can both set, with their parsed types. */
interface ScalarValues {
  schedule: string;
  api: ApiMode;
  tenantSunset: number;
  listen: ListenAddress;
  stateFile: string;
  concurrency: number;
  finishedRetention: number;
  logLevel: string;
  baseUrl: string;
  discoveryInterval: number;
  enableLifecycle: boolean;
}

/** How one scalar setting is read from the file and, when it has one, its variable. */
interface ScalarSpec<T> {
  readonly envName?: string;
  readonly fromFile: (value: unknown) => Parsed<T>;
  readonly fromEnv: (text: string) => Parsed<T>;
  /** What to quote instead of the raw value (a URL loses its user info). */
  readonly shown?: (value: unknown) => unknown;
}

/** Reads strings with `parse`; anything else is refused with `nonString`. */
function stringSpec<T>(
  envName: string | undefined,
  parse: (text: string) => Parsed<T>,
  nonString: string,
): ScalarSpec<T> {
  return {
    ...(envName === undefined ? {} : { envName }),
    fromFile: (value) => (typeof value === "string" ? parse(value) : refuse(nonString)),
    fromEnv: parse,
  };
}

function oneOf<T extends string>(choices: readonly T[]): (text: string) => Parsed<T> {
  const reason = `is not one of ${choices.join(", ")}`;
  return (text) =>
    (choices as readonly string[]).includes(text) ? accept(text as T) : refuse(reason);
}

const CONCURRENCY_REASON = `is not an integer from ${CONCURRENCY_RANGE.min} to ${CONCURRENCY_RANGE.max}`;

function concurrency(value: number): Parsed<number> {
  return Number.isInteger(value) && value >= CONCURRENCY_RANGE.min && value <= CONCURRENCY_RANGE.max
    ? accept(value)
    : refuse(CONCURRENCY_REASON);
}

function discoveryInterval(text: string): Parsed<number> {
  const parsed = parsePositiveDuration(text);
  if (parsed.ok && parsed.value < MIN_DISCOVERY_INTERVAL_MS) {
    return refuse(`is shorter than the ${formatDuration(MIN_DISCOVERY_INTERVAL_MS)} minimum`);
  }
  return parsed;
}

const NOT_A_BOOLEAN = "is not true or false";

const SCALARS: { readonly [K in keyof ScalarValues]: ScalarSpec<ScalarValues[K]> } = {
  schedule: stringSpec("RESTORE_WATCH_SCHEDULE", parseCronExpression, "is not a string"),
  api: stringSpec("RESTORE_WATCH_API", oneOf(API_MODES), `is not one of ${API_MODES.join(", ")}`),
  tenantSunset: stringSpec(
    "RESTORE_WATCH_TENANT_SUNSET",
    parseCalendarDate,
    "is not a date in the form YYYY-MM-DD",
  ),
  listen: stringSpec(
    "RESTORE_WATCH_LISTEN",
    parseListenAddress,
    "is not a valid listen address: expected host:port, [ipv6]:port or :port",
  ),
  stateFile: stringSpec(
    "RESTORE_WATCH_STATE_FILE",
    (text) => (text === "" ? refuse("is an empty path") : accept(text)),
    "is not a string",
  ),
  concurrency: {
    envName: "RESTORE_WATCH_CONCURRENCY",
    fromFile: (value) =>
      typeof value === "number" ? concurrency(value) : refuse(CONCURRENCY_REASON),
    fromEnv: (text) =>
      /^\d+$/.test(text) ? concurrency(Number(text)) : refuse(CONCURRENCY_REASON),
  },
  finishedRetention: stringSpec(undefined, (text) => parsePositiveDuration(text), NOT_A_DURATION),
  logLevel: stringSpec("LOG_LEVEL", oneOf(LOG_LEVELS), `is not one of ${LOG_LEVELS.join(", ")}`),
  baseUrl: {
    ...stringSpec("MONGODB_ATLAS_BASE_URL", parseBaseUrl, "is not an http or https URL"),
    shown: (value) => (typeof value === "string" ? redactUrlUserInfo(value) : value),
  },
  discoveryInterval: stringSpec(
    "RESTORE_WATCH_DISCOVERY_INTERVAL",
    discoveryInterval,
    NOT_A_DURATION,
  ),
  enableLifecycle: {
    envName: "RESTORE_WATCH_ENABLE_LIFECYCLE",
    fromFile: (value) => (typeof value === "boolean" ? accept(value) : refuse(NOT_A_BOOLEAN)),
    fromEnv: (text) =>
      text === "true" ? accept(true) : text === "false" ? accept(false) : refuse(NOT_A_BOOLEAN),
  },
};

const SCALAR_KEYS = Object.keys(SCALARS) as (keyof ScalarValues)[];
const TOP_LEVEL_KEYS = [...SCALAR_KEYS, "timeouts", "jobs", "watch"] as const;
const TIMEOUT_KEYS = { connect: "connectMs", headers: "headersMs", body: "bodyMs" } as const;
const JOB_KEYS = ["groupId", "clusterName", "restoreId", "api"] as const;
const REQUIRED_JOB_KEYS = ["groupId", "clusterName", "restoreId"] as const;
const WATCH_KEYS = ["orgId", "groupId", "clusterName"] as const;

const HEX_ID = /^([a-f0-9]{24})$/;
const CLUSTER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]*$/;
const MAX_CLUSTER_NAME_LENGTH = 64;
const CREDENTIAL_LIKE = /secret|password|private|credential|client.?id|public.?key|api.?key/i;

/**
 * Loads and validates the settings: the file (`--config`, else `RESTORE_WATCH_CONFIG`, else
 * `config/restore-watch.yaml`), then the environment over it, then defaults. Credentials come
 * only from the environment. Throws a ConfigError listing every problem found.
 */
export async function loadSettings(options: LoadSettingsOptions = {}): Promise<Settings> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const readFile = options.readFile ?? ((path: string) => fsReadFile(path, "utf8"));
  const problems: ConfigProblem[] = [];
  const report = (key: string, message: string): void => {
    problems.push({ key, message });
  };

  const location = locateConfigFile({ configPath: options.configPath, env, cwd });
  const file = await readConfigFile(location, readFile);
  problems.push(...file.problems);

  const fileValues: Partial<ScalarValues> = {};
  let timeouts: Timeouts = CONFIG_DEFAULTS.timeouts;
  let jobs: JobSettings[] = [];
  let watch: WatchEntry[] = [];
  if (file.data !== undefined) {
    for (const [name, value] of Object.entries(file.data)) {
      if (isScalarKey(name)) readScalar(name, value, fileValues, report);
      else if (name === "timeouts") timeouts = readTimeouts(value, report);
      else if (name === "jobs") jobs = readJobs(value, report);
      else if (name === "watch") watch = readWatch(value, report);
      else report(childKey("", name), unknownKey(name, TOP_LEVEL_KEYS));
    }
  }

  const envValues: Partial<ScalarValues> = {};
  for (const name of SCALAR_KEYS) readEnvScalar(name, env, envValues, report);

  const { credentials, problems: credentialProblems } = await readCredentials({
    env,
    cwd,
    readFile,
  });
  problems.push(...credentialProblems);

  if (problems.length > 0 || credentials === undefined) throw new ConfigError(problems);
  const pick = <K extends keyof ScalarValues>(
    name: K,
    fallback: ScalarValues[K],
  ): ScalarValues[K] => envValues[name] ?? fileValues[name] ?? fallback;
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
    timeouts,
    credentials,
    jobs,
    watch,
    discoveryIntervalMs: pick(
      "discoveryInterval",
      defaultOf(discoveryInterval(CONFIG_DEFAULTS.discoveryInterval)),
    ),
    enableLifecycle: pick("enableLifecycle", CONFIG_DEFAULTS.enableLifecycle),
  };
}

type Report = (key: string, message: string) => void;

function isScalarKey(name: string): name is keyof ScalarValues {
  return Object.hasOwn(SCALARS, name);
}

function readScalar<K extends keyof ScalarValues>(
  name: K,
  value: unknown,
  into: Partial<ScalarValues>,
  report: Report,
): void {
  const spec: ScalarSpec<ScalarValues[K]> = SCALARS[name];
  const parsed = spec.fromFile(value);
  if (parsed.ok) into[name] = parsed.value;
  else report(name, `${quoteValue(spec.shown?.(value) ?? value)} ${parsed.reason}`);
}

function readEnvScalar<K extends keyof ScalarValues>(
  name: K,
  env: NodeJS.ProcessEnv,
  into: Partial<ScalarValues>,
  report: Report,
): void {
  const spec: ScalarSpec<ScalarValues[K]> = SCALARS[name];
  if (spec.envName === undefined) return;
  const text = env[spec.envName];
  if (text === undefined || text === "") return;
  const parsed = spec.fromEnv(text);
  if (parsed.ok) into[name] = parsed.value;
  else report(spec.envName, `${quoteValue(spec.shown?.(text) ?? text)} ${parsed.reason}`);
}

function readTimeouts(value: unknown, report: Report): Timeouts {
  const result = { ...CONFIG_DEFAULTS.timeouts };
  if (!isMapping(value)) {
    report("timeouts", `${quoteValue(value)} is not a mapping of connect, headers and body`);
    return result;
  }
  for (const [name, item] of Object.entries(value)) {
    const key = childKey("timeouts", name);
    if (!Object.hasOwn(TIMEOUT_KEYS, name)) {
      report(key, unknownKey(name, Object.keys(TIMEOUT_KEYS)));
      continue;
    }
    const parsed =
      typeof item === "string"
        ? parsePositiveDuration(item, MAX_TIMEOUT_MS)
        : refuse<number>(NOT_A_DURATION);
    if (parsed.ok) result[TIMEOUT_KEYS[name as keyof typeof TIMEOUT_KEYS]] = parsed.value;
    else report(key, `${quoteValue(item)} ${parsed.reason}`);
  }
  return result;
}

function readJobs(value: unknown, report: Report): JobSettings[] {
  if (!Array.isArray(value)) {
    report("jobs", `${quoteValue(value)} is not a list of restore jobs`);
    return [];
  }
  const jobs: JobSettings[] = [];
  const firstIndex = new Map<string, number>();
  value.forEach((item: unknown, index) => {
    const job = readJob(item, itemKey("jobs", index), report);
    if (job === undefined) return;
    const identity = JSON.stringify([job.groupId, job.clusterName, job.restoreId]);
    const first = firstIndex.get(identity);
    if (first === undefined) firstIndex.set(identity, index);
    else {
      report(
        itemKey("jobs", index),
        `duplicates jobs[${first}] (same groupId, clusterName and restoreId)`,
      );
    }
    jobs.push(job);
  });
  return jobs;
}

function readWatch(value: unknown, report: Report): WatchEntry[] {
  if (value === null) return [];
  if (!Array.isArray(value)) {
    report("watch", `${quoteValue(value)} is not a list of organizations, projects or clusters`);
    return [];
  }
  const entries: WatchEntry[] = [];
  const firstIndex = new Map<string, number>();
  value.forEach((item: unknown, index) => {
    const key = itemKey("watch", index);
    const entry = readWatchEntry(item, key, report);
    if (entry === undefined) return;
    const identity = JSON.stringify(Object.values(entry));
    const first = firstIndex.get(identity);
    if (first === undefined) firstIndex.set(identity, index);
    else report(key, `duplicates watch[${first}]`);
    entries.push(entry);
  });
  return entries;
}

/** One watch entry, or undefined when it has a problem (already reported). */
function readWatchEntry(item: unknown, key: string, report: Report): WatchEntry | undefined {
  if (!isMapping(item)) {
    report(key, `${quoteValue(item)} is not a mapping of orgId, or groupId and clusterName`);
    return undefined;
  }
  let valid = true;
  const fields: { orgId?: string; groupId?: string; clusterName?: string } = {};
  for (const [name, value] of Object.entries(item)) {
    const parsed = (WATCH_KEYS as readonly string[]).includes(name)
      ? readJobField(name === "orgId" ? "groupId" : name, value)
      : undefined;
    if (parsed === undefined) {
      valid = false;
      report(childKey(key, name), unknownKey(name, WATCH_KEYS));
    } else if (!parsed.ok) {
      valid = false;
      report(childKey(key, name), `${quoteValue(value)} ${parsed.reason}`);
    } else fields[name as (typeof WATCH_KEYS)[number]] = parsed.value;
  }
  const has = (name: string) => Object.hasOwn(item, name);
  if (has("orgId") && has("groupId")) {
    report(key, "names both orgId and groupId; give exactly one");
    return undefined;
  }
  if (!has("orgId") && !has("groupId")) {
    report(key, "names neither orgId nor groupId; give exactly one");
    return undefined;
  }
  if (has("orgId") && has("clusterName")) {
    report(childKey(key, "clusterName"), "needs groupId (a cluster belongs to a project)");
    return undefined;
  }
  if (!valid) return undefined;
  const { orgId, groupId, clusterName } = fields;
  if (orgId !== undefined) return { kind: "organization", orgId };
  if (groupId === undefined) return undefined;
  return clusterName === undefined
    ? { kind: "project", groupId }
    : { kind: "cluster", groupId, clusterName };
}

/** One job, or undefined when it has a problem (already reported). */
function readJob(item: unknown, key: string, report: Report): JobSettings | undefined {
  if (!isMapping(item)) {
    report(key, `${quoteValue(item)} is not a mapping of groupId, clusterName, restoreId and api`);
    return undefined;
  }
  let valid = true;
  const fail = (childName: string, message: string): void => {
    valid = false;
    report(childKey(key, childName), message);
  };
  const fields: { groupId?: string; clusterName?: string; restoreId?: string; api?: ApiMode } = {};
  for (const [name, value] of Object.entries(item)) {
    const parsed = readJobField(name, value);
    if (parsed === undefined) fail(name, unknownKey(name, JOB_KEYS));
    else if (!parsed.ok) fail(name, `${quoteValue(value)} ${parsed.reason}`);
    else if (name === "api") fields.api = parsed.value as ApiMode;
    else fields[name as (typeof REQUIRED_JOB_KEYS)[number]] = parsed.value;
  }
  for (const name of REQUIRED_JOB_KEYS) {
    if (!Object.hasOwn(item, name)) fail(name, "is required");
  }
  const { groupId, clusterName, restoreId, api } = fields;
  if (!valid || groupId === undefined || clusterName === undefined || restoreId === undefined) {
    return undefined;
  }
  return { groupId, clusterName, restoreId, ...(api === undefined ? {} : { api }) };
}

/** Parses one field of a job; undefined for an unknown field. */
function readJobField(name: string, value: unknown): Parsed<string> | undefined {
  if (!(JOB_KEYS as readonly string[]).includes(name)) return undefined;
  if (name === "api") {
    return typeof value === "string"
      ? oneOf(API_MODES)(value)
      : refuse(`is not one of ${API_MODES.join(", ")}`);
  }
  if (typeof value !== "string") {
    return refuse(
      typeof value === "number" || typeof value === "boolean"
        ? "is not a string (put it in quotes)"
        : "is not a string",
    );
  }
  if (name === "clusterName") {
    if (!CLUSTER_NAME.test(value)) {
      return refuse(
        "is not a cluster name (letters, digits and hyphens, not starting with a hyphen)",
      );
    }
    return value.length > MAX_CLUSTER_NAME_LENGTH
      ? refuse(`is longer than ${MAX_CLUSTER_NAME_LENGTH} characters`)
      : accept(value);
  }
  return HEX_ID.test(value)
    ? accept(value)
    : refuse("is not a 24-character lowercase hexadecimal id");
}

/** The message for an unknown key, with a hint when it looks like a known one or a credential. */
function unknownKey(name: string, known: readonly string[]): string {
  const normalized = name.toLowerCase().replace(/[-_]/g, "");
  const near = known.find((candidate) => candidate.toLowerCase() === normalized);
  if (near !== undefined) return `unknown key; did you mean ${near}?`;
  if (CREDENTIAL_LIKE.test(name)) {
    return "unknown key; credentials are read only from the environment (MONGODB_ATLAS_* variables)";
  }
  return `unknown key (expected one of: ${known.join(", ")})`;
}

function defaultOf<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) throw new Error(`invalid built-in default: ${parsed.reason}`);
  return parsed.value;
}
