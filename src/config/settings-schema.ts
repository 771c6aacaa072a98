/**
 * The configuration's zod schemas: one per key of the file and one per environment variable,
 * and the wording that turns their issues into problems (`key: "value" reason`). The leaf
 * parsers (cron, durations, addresses, dates, URLs) are shared by the file and the environment.
 */
import { z } from "zod";
import type { Timeouts } from "../atlas/transport.js";
import { parseBaseUrl, redactUrlUserInfo } from "./base-url.js";
import { parseCalendarDate } from "./calendar-date.js";
import type { ConfigProblem } from "./config-error.js";
import { parseCronExpression } from "./cron-expression.js";
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
import type { ApiMode, JobSettings, WatchEntry } from "./settings.js";

/** Marks an issue whose message stands alone, without the value quoted before it. */
const BARE = { bare: true } as const;

/** A string read by a domain parser; `shown` replaces the value quoted in a refusal. */
function parsedString<T>(
  parse: (text: string) => Parsed<T>,
  nonString: string,
  shown: (text: string) => string = (text) => text,
) {
  return z.string({ error: nonString }).transform((text, ctx): T => {
    const parsed = parse(text);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: "custom", message: parsed.reason, input: shown(text) });
    return z.NEVER;
  });
}

function oneOf<T extends string>(choices: readonly T[]): (text: string) => Parsed<T> {
  const reason = `is not one of ${choices.join(", ")}`;
  return (text) =>
    (choices as readonly string[]).includes(text) ? accept(text as T) : refuse(reason);
}

const CONCURRENCY_REASON = `is not an integer from ${CONCURRENCY_RANGE.min} to ${CONCURRENCY_RANGE.max}`;
const NOT_A_BOOLEAN = "is not true or false";

function concurrency(value: number): Parsed<number> {
  return Number.isInteger(value) && value >= CONCURRENCY_RANGE.min && value <= CONCURRENCY_RANGE.max
    ? accept(value)
    : refuse(CONCURRENCY_REASON);
}

/** The discovery interval: a duration of at least a second. */
export function parseDiscoveryInterval(text: string): Parsed<number> {
  const parsed = parsePositiveDuration(text);
  if (parsed.ok && parsed.value < MIN_DISCOVERY_INTERVAL_MS) {
    return refuse(`is shorter than the ${formatDuration(MIN_DISCOVERY_INTERVAL_MS)} minimum`);
  }
  return parsed;
}

const HEX_ID = /^([a-f0-9]{24})$/;
const CLUSTER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]*$/;
const MAX_CLUSTER_NAME_LENGTH = 64;

/** A string field of a job or watch entry: "is required" when missing, a hint for a bare number. */
const stringField = () =>
  z.string({
    error: (issue) =>
      issue.input === undefined
        ? "is required"
        : typeof issue.input === "number" || typeof issue.input === "boolean"
          ? "is not a string (put it in quotes)"
          : "is not a string",
  });

const hexId = () => stringField().regex(HEX_ID, "is not a 24-character lowercase hexadecimal id");

const clusterName = () =>
  stringField().superRefine((name, ctx) => {
    const message = !CLUSTER_NAME.test(name)
      ? "is not a cluster name (letters, digits and hyphens, not starting with a hyphen)"
      : name.length > MAX_CLUSTER_NAME_LENGTH
        ? `is longer than ${MAX_CLUSTER_NAME_LENGTH} characters`
        : undefined;
    if (message !== undefined) ctx.addIssue({ code: "custom", message, input: name });
  });

const apiMode = z
  .string({ error: `is not one of ${API_MODES.join(", ")}` })
  .transform((text, ctx): ApiMode => {
    const parsed = oneOf(API_MODES)(text);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: "custom", message: parsed.reason, input: text });
    return z.NEVER;
  });

const jobSchema = z.strictObject(
  { groupId: hexId(), clusterName: clusterName(), restoreId: hexId(), api: apiMode.optional() },
  { error: "is not a mapping of groupId, clusterName, restoreId and api" },
);

const jobsSchema = z
  .array(jobSchema, { error: "is not a list of restore jobs" })
  .superRefine(
    (jobs, ctx) => {
      const first = new Map<string, number>();
      jobs.forEach((job, index) => {
        // Only a job without a problem of its own can be a duplicate.
        if (!jobSchema.safeParse(job).success) return;
        const identity = JSON.stringify([job.groupId, job.clusterName, job.restoreId]);
        const earlier = first.get(identity);
        if (earlier === undefined) first.set(identity, index);
        else {
          ctx.addIssue({
            code: "custom",
            path: [index],
            message: `duplicates jobs[${earlier}] (same groupId, clusterName and restoreId)`,
            params: BARE,
          });
        }
      });
    },
    { when: (payload) => Array.isArray(payload.value) },
  )
  .transform((jobs): JobSettings[] =>
    jobs.map(({ api, ...ref }) => (api === undefined ? ref : { ...ref, api })),
  );

const watchEntrySchema = z
  .strictObject(
    {
      orgId: hexId().optional(),
      groupId: hexId().optional(),
      clusterName: clusterName().optional(),
    },
    { error: "is not a mapping of orgId, or groupId and clusterName" },
  )
  .superRefine(
    (entry, ctx) => {
      if (!isMapping(entry)) return;
      const has = (name: string) => Object.hasOwn(entry, name);
      const bare = (message: string, path: string[] = []) =>
        ctx.addIssue({ code: "custom", path, message, params: BARE });
      if (has("orgId") && has("groupId")) bare("names both orgId and groupId; give exactly one");
      else if (!has("orgId") && !has("groupId")) {
        bare("names neither orgId nor groupId; give exactly one");
      } else if (has("orgId") && has("clusterName")) {
        bare("needs groupId (a cluster belongs to a project)", ["clusterName"]);
      }
    },
    // Said even when a key of the entry is also wrong: both are worth knowing.
    { when: () => true },
  )
  .transform((entry): WatchEntry => {
    if (entry.orgId !== undefined) return { kind: "organization", orgId: entry.orgId };
    const groupId = entry.groupId ?? "";
    return entry.clusterName === undefined
      ? { kind: "project", groupId }
      : { kind: "cluster", groupId, clusterName: entry.clusterName };
  });

const watchSchema = z
  .array(watchEntrySchema, { error: "is not a list of organizations, projects or clusters" })
  .nullable()
  .superRefine(
    (entries, ctx) => {
      const first = new Map<string, number>();
      (entries ?? []).forEach((entry, index) => {
        // Only an entry without a problem of its own (turned into a WatchEntry) can be a duplicate.
        if (!isMapping(entry) || !("kind" in entry)) return;
        const identity = JSON.stringify(entry);
        const earlier = first.get(identity);
        if (earlier === undefined) first.set(identity, index);
        else {
          ctx.addIssue({
            code: "custom",
            path: [index],
            message: `duplicates watch[${earlier}]`,
            params: BARE,
          });
        }
      });
    },
    { when: (payload) => payload.value === null || Array.isArray(payload.value) },
  )
  .transform((entries) => entries ?? []);

const timeout = parsedString((text) => parsePositiveDuration(text, MAX_TIMEOUT_MS), NOT_A_DURATION);

const timeoutsSchema = z
  .strictObject(
    { connect: timeout.optional(), headers: timeout.optional(), body: timeout.optional() },
    { error: "is not a mapping of connect, headers and body" },
  )
  .transform((t): Timeouts => ({
    connectMs: t.connect ?? CONFIG_DEFAULTS.timeouts.connectMs,
    headersMs: t.headers ?? CONFIG_DEFAULTS.timeouts.headersMs,
    bodyMs: t.body ?? CONFIG_DEFAULTS.timeouts.bodyMs,
  }));

const LISTEN_REASON = "is not a valid listen address: expected host:port, [ipv6]:port or :port";

/** Every key of the file and its schema, in the order the messages list them. */
export const FILE_SCHEMAS = {
  schedule: parsedString(parseCronExpression, "is not a string"),
  api: apiMode,
  tenantSunset: parsedString(parseCalendarDate, "is not a date in the form YYYY-MM-DD"),
  listen: parsedString(parseListenAddress, LISTEN_REASON),
  stateFile: parsedString(
    (text): Parsed<string> => (text === "" ? refuse("is an empty path") : accept(text)),
    "is not a string",
  ),
  concurrency: z
    .number({ error: CONCURRENCY_REASON })
    .refine((n) => concurrency(n).ok, CONCURRENCY_REASON),
  finishedRetention: parsedString((text) => parsePositiveDuration(text), NOT_A_DURATION),
  logLevel: parsedString(oneOf(LOG_LEVELS), `is not one of ${LOG_LEVELS.join(", ")}`),
  baseUrl: parsedString(parseBaseUrl, "is not an http or https URL", redactUrlUserInfo),
  discoveryInterval: parsedString(parseDiscoveryInterval, NOT_A_DURATION),
  enableLifecycle: z.boolean({ error: NOT_A_BOOLEAN }),
  allowInsecureHttp: z.boolean({ error: NOT_A_BOOLEAN }),
  healthStaleAfter: parsedString((text) => parsePositiveDuration(text), NOT_A_DURATION),
  timeouts: timeoutsSchema,
  jobs: jobsSchema,
  watch: watchSchema,
} as const;

/** The keys the file may hold. */
export type FileKey = keyof typeof FILE_SCHEMAS;

/** What each key of the file gives once valid. */
export type FileValues = { -readonly [K in FileKey]?: z.output<(typeof FILE_SCHEMAS)[K]> };

/** The keys the file may hold, in order. */
export const FILE_KEYS = Object.keys(FILE_SCHEMAS) as FileKey[];

const TIMEOUT_KEYS = ["connect", "headers", "body"] as const;
const JOB_KEYS = ["groupId", "clusterName", "restoreId", "api"] as const;
const WATCH_KEYS = ["orgId", "groupId", "clusterName"] as const;

/** `true` or `false` in a variable. */
const booleanText = parsedString(
  (text): Parsed<boolean> =>
    text === "true" ? accept(true) : text === "false" ? accept(false) : refuse(NOT_A_BOOLEAN),
  NOT_A_BOOLEAN,
);

/** The environment variables that override a key of the file, with their own schemas. */
export const ENV_SCHEMAS = {
  RESTORE_WATCH_SCHEDULE: { key: "schedule", schema: FILE_SCHEMAS.schedule },
  RESTORE_WATCH_API: { key: "api", schema: FILE_SCHEMAS.api },
  RESTORE_WATCH_TENANT_SUNSET: { key: "tenantSunset", schema: FILE_SCHEMAS.tenantSunset },
  RESTORE_WATCH_LISTEN: { key: "listen", schema: FILE_SCHEMAS.listen },
  RESTORE_WATCH_STATE_FILE: { key: "stateFile", schema: FILE_SCHEMAS.stateFile },
  RESTORE_WATCH_CONCURRENCY: {
    key: "concurrency",
    schema: parsedString(
      (text): Parsed<number> =>
        /^\d+$/.test(text) ? concurrency(Number(text)) : refuse(CONCURRENCY_REASON),
      CONCURRENCY_REASON,
    ),
  },
  LOG_LEVEL: { key: "logLevel", schema: FILE_SCHEMAS.logLevel },
  MONGODB_ATLAS_BASE_URL: { key: "baseUrl", schema: FILE_SCHEMAS.baseUrl },
  RESTORE_WATCH_DISCOVERY_INTERVAL: {
    key: "discoveryInterval",
    schema: FILE_SCHEMAS.discoveryInterval,
  },
  RESTORE_WATCH_ENABLE_LIFECYCLE: { key: "enableLifecycle", schema: booleanText },
  RESTORE_WATCH_ALLOW_INSECURE_HTTP: { key: "allowInsecureHttp", schema: booleanText },
  RESTORE_WATCH_HEALTH_STALE_AFTER: {
    key: "healthStaleAfter",
    schema: FILE_SCHEMAS.healthStaleAfter,
  },
} as const satisfies Record<string, { key: FileKey; schema: z.ZodType }>;

const CREDENTIAL_LIKE = /secret|password|private|credential|client.?id|public.?key|api.?key/i;

/** The message for an unknown key, with a hint when it looks like a known one or a credential. */
export function unknownKey(name: string, known: readonly string[]): string {
  const normalized = name.toLowerCase().replace(/[-_]/g, "");
  const near = known.find((candidate) => candidate.toLowerCase() === normalized);
  if (near !== undefined) return `unknown key; did you mean ${near}?`;
  if (CREDENTIAL_LIKE.test(name)) {
    return "unknown key; credentials are read only from the environment (MONGODB_ATLAS_* variables)";
  }
  return `unknown key (expected one of: ${known.join(", ")})`;
}

/** The keys a mapping at `path` (under the top-level key) may hold. */
function knownKeys(path: readonly PropertyKey[]): readonly string[] {
  if (path.length === 0) return FILE_KEYS;
  const [top] = path;
  if (top === "timeouts") return TIMEOUT_KEYS;
  if (top === "jobs") return JOB_KEYS;
  if (top === "watch") return WATCH_KEYS;
  return [];
}

/** The key path of a zod path: `jobs[2].restoreId`, `["odd key"]`. */
function keyPath(path: readonly PropertyKey[]): string {
  let key = "";
  for (const part of path) {
    key = typeof part === "number" ? itemKey(key, part) : childKey(key, String(part));
  }
  return key;
}

/**
 * Where `path` comes in the input, segment by segment: a key by its place in its mapping (a key
 * the input lacks comes after every present one), an item by its index. Problems are listed in
 * this order, as a reader goes through the file.
 */
function inputOrder(input: unknown, path: readonly PropertyKey[]): number[] {
  const order: number[] = [];
  let node = input;
  for (const part of path) {
    if (Array.isArray(node) && typeof part === "number") {
      order.push(part);
      node = node[part];
    } else if (isMapping(node)) {
      const keys = Object.keys(node);
      const index = keys.indexOf(String(part));
      order.push(index === -1 ? keys.length : index);
      node = node[String(part)];
    } else {
      order.push(Number.MAX_SAFE_INTEGER);
      node = undefined;
    }
  }
  return order;
}

function compareOrder(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Validates one value with `schema` and words every issue as a problem under `key` (a key of
 * the file, or a variable name), in the input's order.
 */
export function check<S extends z.ZodType>(
  schema: S,
  value: unknown,
  key: { readonly file: FileKey } | { readonly variable: string },
): { ok: true; value: z.output<S> } | { ok: false; problems: ConfigProblem[] } {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  const root: PropertyKey[] = "file" in key ? [key.file] : [];
  const name = (path: readonly PropertyKey[]) =>
    "file" in key ? keyPath([...root, ...path]) : key.variable;
  const entries: { order: number[]; problem: ConfigProblem }[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys([...root, ...issue.path]);
      for (const unknown of issue.keys) {
        const path = [...issue.path, unknown];
        entries.push({
          order: inputOrder(value, path),
          problem: { key: name(path), message: unknownKey(unknown, known) },
        });
      }
      continue;
    }
    // A missing key has no value to quote, nor has a problem of a whole entry.
    const bare =
      (issue as { params?: { bare?: boolean } }).params?.bare === true ||
      (issue.code === "invalid_type" && issue.input === undefined);
    const message = bare ? issue.message : `${quoteValue(issue.input)} ${issue.message}`;
    entries.push({
      order: inputOrder(value, issue.path),
      problem: { key: name(issue.path), message },
    });
  }
  entries.sort((a, b) => compareOrder(a.order, b.order));
  return { ok: false, problems: entries.map((entry) => entry.problem) };
}
