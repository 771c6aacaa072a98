/**
 * The `wait` command line: `wait [--group-id ID] --cluster-name NAME [--api MODE] [--timeout
 * DURATION] [--interval DURATION] RESTORE_ID...`, validated with zod. Every bad flag or id is
 * named with its value; nothing here reads a file or sends a request.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { clusterNameSchema, objectIdSchema } from "../atlas/ids.js";
import { describeParseError } from "./cli-args.js";
import { API_MODES } from "./defaults.js";
import { formatDuration, parseDuration } from "./duration.js";
import { quoteValue } from "./problem-text.js";
import type { ApiMode } from "./settings.js";

/** The Atlas CLI's variable for the project, used when `--group-id` is not given. */
export const PROJECT_ID_VARIABLE = "MONGODB_ATLAS_PROJECT_ID";

/** Default time between two polls of a job. */
export const DEFAULT_INTERVAL_MS = 10_000;

/** Shortest and longest accepted `--interval`. */
export const INTERVAL_RANGE_MS = { min: 1_000, max: 3_600_000 } as const;

/** A valid `wait` command line. */
export interface WaitArgs {
  /** From `--group-id`; when absent, `resolveGroupId` reads MONGODB_ATLAS_PROJECT_ID. */
  readonly groupId?: string;
  readonly clusterName: string;
  readonly api: ApiMode;
  /** How long to wait at most; undefined waits forever (no `--timeout`, or `--timeout 0`). */
  readonly timeoutMs: number | undefined;
  readonly intervalMs: number;
  /** The restore jobs to wait for, in the order given, each once. */
  readonly restoreIds: readonly string[];
}

const OPTIONS = {
  "group-id": { type: "string" },
  "cluster-name": { type: "string" },
  api: { type: "string" },
  timeout: { type: "string" },
  interval: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const VALUE_HINTS: Readonly<Record<string, string>> = {
  "group-id": "a project id: --group-id ID",
  "cluster-name": "a cluster name: --cluster-name NAME",
  api: `one of ${API_MODES.join(", ")}: --api MODE`,
  timeout: "a duration: --timeout DURATION",
  interval: "a duration: --interval DURATION",
};

/** The exit codes of `wait`, one per line, as its help and the daemon's print them. */
export const WAIT_EXIT_CODES_TEXT = `  0    every job COMPLETED
  1    at least one job FAILED or CANCELLED (the others were still waited for)
  2    --timeout passed first; the restores are left running, never cancelled
  3    Atlas cannot tell: credentials refused (401/403), job or cluster not found (404) or
       another lasting 4xx, or Atlas unreachable until the timeout
  64   bad command line
  78   bad configuration (no credentials, bad base URL)
  130  interrupted (SIGINT or SIGTERM); the service-account token is still revoked
With several ids the highest of their codes 0 to 3 is the exit code.
`;

/** The `wait --help` text, ending with a newline. */
export const WAIT_USAGE = `Usage: atlas-restore-watch wait [--group-id ID] --cluster-name NAME [--api MODE]
           [--timeout DURATION] [--interval DURATION] RESTORE_ID...

Waits until every listed restore job of one cluster is COMPLETED, FAILED or CANCELLED, then
prints one JSON line per job on stdout and exits with the worst outcome; status changes and
the reason it gives up go to stderr. Only reads: the restores are never changed or cancelled.

Options:
  --group-id ID          the project; default $${PROJECT_ID_VARIABLE}
  --cluster-name NAME    the cluster: a Flex instance, a dedicated (M10+) cluster with
                         --api dedicated, or a shared-tier (M2/M5) cluster
  --api MODE             ${API_MODES.join(" | ")} (auto): the restore endpoint family; auto
                         follows the daemon's rule (Flex since the tenant sunset) and never
                         picks dedicated
  --timeout DURATION     give up after this long, e.g. 90s, 20m, 2h; 0 or absent: never
  --interval DURATION    time between polls, ${formatDuration(INTERVAL_RANGE_MS.min)} to ${formatDuration(INTERVAL_RANGE_MS.max)} (${formatDuration(DEFAULT_INTERVAL_MS)}), plus up to 10% jitter;
                         Atlas's Retry-After always wins
  -h, --help             show this text and exit

A lasting 401, 403, 404 or other 4xx ends a job's wait after 3 refusals in a row; 429, 5xx,
timeouts and network errors are retried until the timeout.

Exit codes:
${WAIT_EXIT_CODES_TEXT}
Credentials and base URL as for the daemon (no configuration file, state file or port):
MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET, or MONGODB_ATLAS_PUBLIC_API_KEY and
MONGODB_ATLAS_PRIVATE_API_KEY (each also as NAME_FILE), and MONGODB_ATLAS_BASE_URL; a .env
file in the working directory fills variables that are not set.
`;

/** A duration flag: `parseDuration`'s syntax, then `check` (a refusal reason, or undefined). */
function durationSchema(check: (ms: number) => string | undefined, zeroText = false) {
  return z.string().transform((text, ctx) => {
    const parsed = zeroText && text === "0" ? { ok: true as const, value: 0 } : parseDuration(text);
    const reason = parsed.ok ? check(parsed.value) : parsed.reason;
    if (reason === undefined && parsed.ok) return parsed.value;
    ctx.addIssue({ code: "custom", message: reason ?? "", input: text });
    return z.NEVER;
  });
}

const argsSchema = z.object({
  "group-id": objectIdSchema.optional(),
  "cluster-name": clusterNameSchema,
  // Read from API_MODES, so a new family is accepted here as soon as it is a mode.
  api: z
    .string()
    .refine((text) => (API_MODES as readonly string[]).includes(text), {
      message: `is not one of ${API_MODES.join(", ")}`,
    })
    .transform((text) => text as ApiMode)
    .default("auto"),
  timeout: durationSchema(() => undefined, true).optional(),
  interval: durationSchema((ms) =>
    ms < INTERVAL_RANGE_MS.min
      ? `is shorter than the ${formatDuration(INTERVAL_RANGE_MS.min)} minimum`
      : ms > INTERVAL_RANGE_MS.max
        ? `is longer than the ${formatDuration(INTERVAL_RANGE_MS.max)} maximum`
        : undefined,
  ).optional(),
  ids: z
    .array(objectIdSchema)
    .min(1, "at least one RESTORE_ID is required")
    .superRefine((ids, ctx) => {
      ids.forEach((restoreId, index) => {
        if (ids.indexOf(restoreId) !== index) {
          ctx.addIssue({
            code: "custom",
            path: [index],
            input: restoreId,
            message: "is given more than once",
          });
        }
      });
    }),
});

/** One line per zod issue, naming the flag (`option --api: "x" is not …`) or the id. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const [first, index] = issue.path;
  if (first === "ids") {
    return index === undefined
      ? issue.message
      : `restore id ${quoteValue(issue.input)} ${issue.message}`;
  }
  const flag = `option --${String(first)}`;
  return issue.input === undefined
    ? `${flag} is required`
    : `${flag}: ${quoteValue(issue.input)} ${issue.message}`;
}

/**
 * Parses the arguments after `wait`. `--help` wins over every other problem; otherwise the
 * first syntax error, or every bad value at once (one per line), is returned as `error`.
 */
export function parseWaitArgs(
  argv: readonly string[],
): WaitArgs | { help: true } | { error: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (error) {
    if (argv.includes("--help") || argv.includes("-h")) return { help: true };
    return { error: describeParseError(error, VALUE_HINTS) };
  }
  const { values, positionals, tokens } = parsed;
  if (values.help) return { help: true };
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    if (seen.has(token.name)) return { error: `option --${token.name} is given more than once` };
    seen.add(token.name);
  }
  const result = argsSchema.safeParse({ ...values, ids: positionals }, { reportInput: true });
  if (!result.success) return { error: result.error.issues.map(describeIssue).join("\n") };
  const { data } = result;
  return {
    ...(data["group-id"] === undefined ? {} : { groupId: data["group-id"] }),
    clusterName: data["cluster-name"],
    api: data.api,
    timeoutMs: data.timeout === 0 ? undefined : data.timeout,
    intervalMs: data.interval ?? DEFAULT_INTERVAL_MS,
    restoreIds: data.ids,
  };
}

/**
 * The project: `--group-id`, else MONGODB_ATLAS_PROJECT_ID (an empty value counts as unset).
 * Either way a malformed id is named with where it came from.
 */
export function resolveGroupId(
  args: Pick<WaitArgs, "groupId">,
  env: NodeJS.ProcessEnv,
): { groupId: string } | { error: string } {
  if (args.groupId !== undefined) return { groupId: args.groupId };
  const fromEnv = env[PROJECT_ID_VARIABLE];
  if (fromEnv === undefined || fromEnv === "") {
    return { error: `option --group-id is required unless ${PROJECT_ID_VARIABLE} is set` };
  }
  const parsed = objectIdSchema.safeParse(fromEnv);
  return parsed.success
    ? { groupId: parsed.data }
    : {
        error: `${PROJECT_ID_VARIABLE}: ${quoteValue(fromEnv)} ${parsed.error.issues[0]?.message ?? ""}`,
      };
}
