/**
 * The daemon's command line: `--config FILE`, `--check-config`, `--help`, `--version`. Its help
 * also names the `wait` subcommand, whose own command line is in wait-args.ts.
 */
import { parseArgs } from "node:util";
import { CONFIG_PATH_VARIABLE, DEFAULT_CONFIG_PATH } from "./config-file.js";
import { API_MODES, CONFIG_DEFAULTS } from "./defaults.js";
import { formatDuration } from "./duration.js";
import { WAIT_EXIT_CODES_TEXT } from "./wait-args.js";

/** The parsed command line. */
export interface CliArgs {
  /** `--config FILE`: the configuration file, overriding RESTORE_WATCH_CONFIG. */
  readonly config?: string;
  /** `--check-config`: validate, print the effective settings (secrets redacted), exit. */
  readonly checkConfig: boolean;
  readonly help: boolean;
  readonly version: boolean;
}

const OPTIONS = {
  config: { type: "string" },
  "check-config": { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

const timeouts = CONFIG_DEFAULTS.timeouts;

/** The `--help` text, ending with a newline. */
export const USAGE = `Usage: atlas-restore-watch [--config FILE] [--check-config]
       atlas-restore-watch wait [--group-id ID] --cluster-name NAME [--api MODE]
           [--timeout DURATION] [--interval DURATION] RESTORE_ID...
       atlas-restore-watch --help | --version

Watches the MongoDB Atlas restore jobs of the organizations, projects and Flex clusters you
name (and any job named by id): JSON logs on stdout for every status change, Prometheus
metrics and health on the listen address. SIGHUP reloads the configuration.

Options:
  --config FILE    configuration file (YAML or JSON); default: $${CONFIG_PATH_VARIABLE},
                   else ${DEFAULT_CONFIG_PATH} in the working directory
  --check-config   validate the configuration, print the effective settings as JSON
                   (secrets redacted) and exit: 0 if valid, 78 if not
  -h, --help       show this text and exit
  --version        show the version and exit

Environment (overrides the file; empty values count as unset; a .env file in the working
directory fills variables that are not set):
  RESTORE_WATCH_CONFIG          configuration file
  RESTORE_WATCH_SCHEDULE        schedule     node-cron expression   (${CONFIG_DEFAULTS.schedule})
  RESTORE_WATCH_API             api          ${API_MODES.join(" | ")} (${CONFIG_DEFAULTS.api})
  RESTORE_WATCH_TENANT_SUNSET   tenantSunset YYYY-MM-DD, UTC        (${CONFIG_DEFAULTS.tenantSunset})
  RESTORE_WATCH_LISTEN          listen       host:port, [ipv6]:port or :port (${CONFIG_DEFAULTS.listen})
  RESTORE_WATCH_STATE_FILE      stateFile    path                   (${CONFIG_DEFAULTS.stateFile})
  RESTORE_WATCH_CONCURRENCY     concurrency  1..64                  (${CONFIG_DEFAULTS.concurrency})
  LOG_LEVEL                     logLevel     fatal|error|warn|info|debug|trace|silent (${CONFIG_DEFAULTS.logLevel})
  MONGODB_ATLAS_BASE_URL        baseUrl      http(s) origin         (${CONFIG_DEFAULTS.baseUrl})
                                             (http:// on loopback only, unless allowed:)
  RESTORE_WATCH_ALLOW_INSECURE_HTTP allowInsecureHttp true | false (false)
  RESTORE_WATCH_HEALTH_STALE_AFTER  healthStaleAfter  duration (5 intervals, at least 5m)
  RESTORE_WATCH_DISCOVERY_INTERVAL  discoveryInterval  duration, at least 1s (${CONFIG_DEFAULTS.discoveryInterval})
  RESTORE_WATCH_ENABLE_LIFECYCLE    enableLifecycle    true | false: POST /-/reload (${CONFIG_DEFAULTS.enableLifecycle})
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY the egress proxy for Atlas, as curl reads them
File only: finishedRetention (${CONFIG_DEFAULTS.finishedRetention}), timeouts.connect/headers/body
(${formatDuration(timeouts.connectMs)}/${formatDuration(timeouts.headersMs)}/${formatDuration(timeouts.bodyMs)}, at most 5m), watch (orgId, groupId or
groupId + clusterName entries), jobs (restore jobs by id); both optional.

Credentials, from the environment only (each variable also as NAME_FILE, a file holding it):
  service account   MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET
  or API key        MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY

Exit codes: 0 after a clean stop, 64 for a bad command line, 78 for a bad configuration or a
listen address that cannot be bound, 70 for an internal error.

wait: polls the listed restore jobs of one cluster until each is COMPLETED, FAILED or
CANCELLED, then prints one JSON line per job; no configuration file, state file or port
(wait --help).
Exit codes of wait:
${WAIT_EXIT_CODES_TEXT}`;

/**
 * Parses the arguments after the program name. Unknown options, positional arguments, a
 * missing or empty `--config` value and a repeated option are errors.
 */
export function parseCliArgs(argv: readonly string[]): CliArgs | { error: string } {
  let tokens;
  try {
    ({ tokens } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      strict: true,
      allowPositionals: false,
      tokens: true,
    }));
  } catch (error) {
    return { error: describeParseError(error, { config: "a file path: --config FILE" }) };
  }
  const seen = new Set<string>();
  let config: string | undefined;
  const flags = { "check-config": false, help: false, version: false };
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    if (seen.has(token.name)) return { error: `option --${token.name} is given more than once` };
    seen.add(token.name);
    if (token.name === "config") {
      if (token.value === undefined || token.value === "") {
        return { error: "option --config needs a file path: --config FILE" };
      }
      config = token.value;
    } else if (token.name in flags) {
      flags[token.name as keyof typeof flags] = true;
    }
  }
  return {
    ...(config === undefined ? {} : { config }),
    checkConfig: flags["check-config"],
    help: flags.help,
    version: flags.version,
  };
}

/**
 * Words a node:util parseArgs error for the user: the unknown option or the stray argument, or
 * for an option without its value, `option --NAME needs ` followed by its hint in `valueHints`.
 */
export function describeParseError(
  error: unknown,
  valueHints: Readonly<Record<string, string>>,
): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION": {
      const option = /'([^']*)'/.exec(message)?.[1];
      return option === undefined ? message : `unknown option ${JSON.stringify(option)}`;
    }
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL": {
      const argument = /'([^']*)'/.exec(message)?.[1];
      return argument === undefined ? message : `unexpected argument ${JSON.stringify(argument)}`;
    }
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const name = /^Option '(?:-\w, )?--([\w-]+)[ ']/.exec(message)?.[1];
      const hint = name === undefined ? undefined : valueHints[name];
      return hint === undefined ? firstLine(message) : `option --${name} needs ${hint}`;
    }
    default:
      return firstLine(message);
  }
}

function firstLine(message: string): string {
  const line = message.split("\n")[0] ?? message;
  return line.charAt(0).toLowerCase() + line.slice(1);
}
