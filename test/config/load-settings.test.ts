import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, formatProblem } from "../../src/config/config-error.js";
import { loadSettings } from "../../src/config/load-settings.js";
import type { Settings } from "../../src/config/settings.js";

const GROUP = "32b6e34b3d91647abb20e7b8";
const RESTORE = "6a793f81d2c4a03c5e4b1f20";
const RESTORE_2 = "6a793f81d2c4a03c5e4b1f21";
const ORG = "6a0000000000000000000001";
const DEFAULT_FILE = "config/restore-watch.yaml";

const JOBS = `jobs:
  - groupId: "${GROUP}"
    clusterName: Cluster0
    restoreId: "${RESTORE}"
`;

/** A valid file: `extra` top-level keys, then one good job. */
const withJob = (extra: string): string => `${extra}\n${JOBS}`;

const SERVICE_ACCOUNT = {
  MONGODB_ATLAS_CLIENT_ID: "mdb_sa_id_0123456789abcdef01234567",
  MONGODB_ATLAS_CLIENT_SECRET: "mdb_sa_sk_supersecret",
} as const;

let dirs: string[] = [];

async function tempDir(files: Readonly<Record<string, string>>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "restore-watch-config-"));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  dirs = [];
});

interface BadCase {
  readonly name: string;
  /** Files relative to the working directory; default: a valid default configuration file. */
  readonly files?: Readonly<Record<string, string>>;
  /** Directories to create. */
  readonly dirs?: readonly string[];
  /** The whole environment; default: a service account. */
  readonly env?: NodeJS.ProcessEnv;
  readonly configPath?: string;
  /** Paths (relative to the working directory) whose reading fails with this code. */
  readonly failReads?: Readonly<Record<string, string>>;
  /** Every problem as `key: message`, in order; `<dir>` is the working directory. */
  readonly problems: readonly string[];
}

const BAD: readonly BadCase[] = [
  {
    name: "default file missing",
    files: {},
    problems: [
      "<dir>/config/restore-watch.yaml: configuration file not found (the default path; pass --config FILE or set RESTORE_WATCH_CONFIG to use another)",
    ],
  },
  {
    name: "--config file missing",
    configPath: "elsewhere/watch.yaml",
    problems: ["<dir>/elsewhere/watch.yaml: configuration file not found (from --config)"],
  },
  {
    name: "RESTORE_WATCH_CONFIG file missing, with an environment problem reported alongside",
    env: {
      ...SERVICE_ACCOUNT,
      RESTORE_WATCH_CONFIG: "/nonexistent/watch.yaml",
      RESTORE_WATCH_CONCURRENCY: "0",
    },
    problems: [
      "/nonexistent/watch.yaml: configuration file not found (from RESTORE_WATCH_CONFIG)",
      'RESTORE_WATCH_CONCURRENCY: "0" is not an integer from 1 to 64',
    ],
  },
  {
    name: "--config wins over RESTORE_WATCH_CONFIG",
    files: { "good.yaml": JOBS },
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_CONFIG: "good.yaml" },
    configPath: "missing.yaml",
    problems: ["<dir>/missing.yaml: configuration file not found (from --config)"],
  },
  {
    name: "configuration path is a directory",
    files: { [DEFAULT_FILE]: JOBS },
    dirs: ["conf.d"],
    configPath: "conf.d",
    problems: ["<dir>/conf.d: configuration file is a directory (from --config)"],
  },
  {
    name: "configuration file unreadable",
    failReads: { [DEFAULT_FILE]: "EACCES" },
    problems: [
      "<dir>/config/restore-watch.yaml: configuration file cannot be read: permission denied (EACCES) (the default path; pass --config FILE or set RESTORE_WATCH_CONFIG to use another)",
    ],
  },
  {
    name: "YAML syntax error with line and column",
    files: {
      [DEFAULT_FILE]: `schedule: "* * * * *"\njobs:\n  - groupId: "${GROUP}"\n   clusterName: Cluster0\n`,
    },
    problems: [
      "<dir>/config/restore-watch.yaml: YAML syntax error at line 4, column 1: Sequence item without - indicator",
    ],
  },
  {
    name: "YAML duplicate key",
    files: { [DEFAULT_FILE]: withJob("api: auto\napi: flex") },
    problems: [
      "<dir>/config/restore-watch.yaml: YAML syntax error at line 2, column 1: Map keys must be unique",
    ],
  },
  {
    name: "JSON syntax error (missing comma) with line and column",
    files: { "watch.json": `{\n  "api": "flex"\n  "jobs": []\n}\n` },
    configPath: "watch.json",
    problems: [
      "<dir>/watch.json: YAML syntax error at line 3, column 3: Missing , between flow map items",
    ],
  },
  {
    name: "JSON file with bad values",
    files: {
      "watch.json": JSON.stringify(
        { concurrency: "8", jobs: [{ groupId: GROUP, clusterName: "c", restoreId: "x" }] },
        null,
        "\t",
      ),
    },
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_CONFIG: "watch.json" },
    problems: [
      'concurrency: "8" is not an integer from 1 to 64',
      'jobs[0].restoreId: "x" is not a 24-character lowercase hexadecimal id',
    ],
  },
  {
    name: "top level is a list",
    files: { [DEFAULT_FILE]: "- a\n- b\n" },
    problems: [
      "<dir>/config/restore-watch.yaml: expected a mapping of settings at the top level, got a list",
    ],
  },
  {
    name: "unknown top-level keys: typo hint, credential hint without the value, the known keys",
    files: {
      [DEFAULT_FILE]: withJob(
        "tenant_sunset: 2026-01-22\nclientSecret: hunter2\nextra: 1\n'odd key': 2",
      ),
    },
    problems: [
      "tenant_sunset: unknown key; did you mean tenantSunset?",
      "clientSecret: unknown key; credentials are read only from the environment (MONGODB_ATLAS_* variables)",
      "extra: unknown key (expected one of: schedule, api, tenantSunset, listen, stateFile, concurrency, finishedRetention, logLevel, baseUrl, discoveryInterval, enableLifecycle, allowInsecureHttp, healthStaleAfter, timeouts, jobs, watch)",
      '["odd key"]: unknown key (expected one of: schedule, api, tenantSunset, listen, stateFile, concurrency, finishedRetention, logLevel, baseUrl, discoveryInterval, enableLifecycle, allowInsecureHttp, healthStaleAfter, timeouts, jobs, watch)',
    ],
  },
  {
    name: "schedule: invalid field in the file, wrong field count in the environment",
    files: { [DEFAULT_FILE]: withJob('schedule: "61 * * * *"') },
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_SCHEDULE: "every minute" },
    problems: [
      'schedule: "61 * * * *" is not a valid cron expression (invalid minute field "61")',
      'RESTORE_WATCH_SCHEDULE: "every minute" is not a valid cron expression (expected 5 or 6 fields but got 2)',
    ],
  },
  {
    name: "schedule: not a string; impossible day in the environment",
    files: { [DEFAULT_FILE]: withJob("schedule: 5") },
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_SCHEDULE: "0 0 31 2 *" },
    problems: [
      "schedule: 5 is not a string",
      'RESTORE_WATCH_SCHEDULE: "0 0 31 2 *" is not a valid cron expression (the day-of-month field "31" never occurs in the given months)',
    ],
  },
  {
    name: "api: unknown mode in the file and (case-sensitive) in the environment",
    files: { [DEFAULT_FILE]: withJob("api: both") },
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_API: "Flex" },
    problems: [
      'api: "both" is not one of auto, tenant, flex, dedicated',
      'RESTORE_WATCH_API: "Flex" is not one of auto, tenant, flex, dedicated',
    ],
  },
  {
    name: "tenantSunset: not a calendar date, wrong shape",
    files: { [DEFAULT_FILE]: withJob('tenantSunset: "2026-02-30"') },
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_TENANT_SUNSET: "22/01/2026" },
    problems: [
      'tenantSunset: "2026-02-30" is not a real calendar date',
      'RESTORE_WATCH_TENANT_SUNSET: "22/01/2026" is not a date in the form YYYY-MM-DD',
    ],
  },
  {
    name: "listen: port out of range, unbracketed IPv6",
    files: { [DEFAULT_FILE]: withJob('listen: "0.0.0.0:70000"') },
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_LISTEN: "::1:9917" },
    problems: [
      'listen: "0.0.0.0:70000" is not a valid listen address: the port must be an integer from 0 to 65535',
      'RESTORE_WATCH_LISTEN: "::1:9917" is not a valid listen address: an IPv6 host must be in brackets, like [::1]:9917',
    ],
  },
  {
    name: "listen: no port, bad bracketed IPv6",
    files: { [DEFAULT_FILE]: withJob("listen: localhost") },
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_LISTEN: "[::zz]:9917" },
    problems: [
      'listen: "localhost" is not a valid listen address: expected host:port, [ipv6]:port or :port',
      'RESTORE_WATCH_LISTEN: "[::zz]:9917" is not a valid listen address: "::zz" is not an IPv6 address',
    ],
  },
  {
    name: "listen: bad IPv4, bad host name, port zero",
    files: { [DEFAULT_FILE]: withJob('listen: "999.1.1.1:80"') },
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_LISTEN: "bad_host:0" },
    problems: [
      'listen: "999.1.1.1:80" is not a valid listen address: "999.1.1.1" is not an IPv4 address',
      'RESTORE_WATCH_LISTEN: "bad_host:0" is not a valid listen address: "bad_host" is not an IPv4 address or host name',
    ],
  },
  {
    name: "listen: a bare number",
    files: { [DEFAULT_FILE]: withJob("listen: 9917") },
    problems: [
      "listen: 9917 is not a valid listen address: expected host:port, [ipv6]:port or :port",
    ],
  },
  {
    name: "concurrency: out of range, fractional, not decimal digits",
    files: { [DEFAULT_FILE]: withJob("concurrency: 2.5") },
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_CONCURRENCY: "65" },
    problems: [
      "concurrency: 2.5 is not an integer from 1 to 64",
      'RESTORE_WATCH_CONCURRENCY: "65" is not an integer from 1 to 64',
    ],
  },
  {
    name: "concurrency: zero in the file, a word in the environment",
    files: { [DEFAULT_FILE]: withJob("concurrency: 0") },
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_CONCURRENCY: "eight" },
    problems: [
      "concurrency: 0 is not an integer from 1 to 64",
      'RESTORE_WATCH_CONCURRENCY: "eight" is not an integer from 1 to 64',
    ],
  },
  {
    name: "stateFile empty, logLevel unknown (case-sensitive)",
    files: { [DEFAULT_FILE]: withJob('stateFile: ""\nlogLevel: verbose') },
    env: { ...SERVICE_ACCOUNT, LOG_LEVEL: "INFO" },
    problems: [
      'stateFile: "" is an empty path',
      'logLevel: "verbose" is not one of fatal, error, warn, info, debug, trace, silent',
      'LOG_LEVEL: "INFO" is not one of fatal, error, warn, info, debug, trace, silent',
    ],
  },
  {
    name: "durations: syntax, zero, over the maximum, a number, unknown and non-mapping keys",
    files: {
      [DEFAULT_FILE]: withJob(
        'finishedRetention: "1 day"\ntimeouts:\n  connect: 10m\n  headers: 0s\n  body: 30\n  read: 1s',
      ),
    },
    problems: [
      'finishedRetention: "1 day" is not a duration like 90s, 15m, 24h or 7d',
      'timeouts.connect: "10m" is longer than the 5m maximum',
      'timeouts.headers: "0s" is not a positive duration',
      "timeouts.body: 30 is not a duration like 90s, 15m, 24h or 7d",
      "timeouts.read: unknown key (expected one of: connect, headers, body)",
    ],
  },
  {
    name: "durations: units out of order; timeouts not a mapping",
    files: { [DEFAULT_FILE]: withJob('finishedRetention: "30m1h"\ntimeouts: "10s"') },
    problems: [
      'finishedRetention: "30m1h" is not a duration like 90s, 15m, 24h or 7d',
      'timeouts: "10s" is not a mapping of connect, headers and body',
    ],
  },
  {
    name: "baseUrl: a path in the file; user info in the environment is never printed",
    files: { [DEFAULT_FILE]: withJob("baseUrl: https://cloud.mongodb.com/api/atlas") },
    env: { ...SERVICE_ACCOUNT, MONGODB_ATLAS_BASE_URL: "https://user:hunter2@cloud.mongodb.com" },
    problems: [
      'baseUrl: "https://cloud.mongodb.com/api/atlas" has a path, query or fragment; give only the scheme, host and port',
      'MONGODB_ATLAS_BASE_URL: "https://<redacted>@cloud.mongodb.com" contains a user name or password; give only the scheme, host and port',
    ],
  },
  {
    name: "baseUrl: not http(s), not a URL",
    files: { [DEFAULT_FILE]: withJob("baseUrl: ftp://cloud.mongodb.com") },
    env: { ...SERVICE_ACCOUNT, MONGODB_ATLAS_BASE_URL: "cloud.mongodb.com" },
    problems: [
      'baseUrl: "ftp://cloud.mongodb.com" is not an http or https URL',
      'MONGODB_ATLAS_BASE_URL: "cloud.mongodb.com" is not an http or https URL',
    ],
  },
  {
    name: "jobs not a list",
    files: { [DEFAULT_FILE]: `jobs:\n  groupId: "${GROUP}"\n` },
    problems: [`jobs: {"groupId":"${GROUP}"} is not a list of restore jobs`],
  },
  {
    name: "job fields: every pattern, a number id, a typo'd key, a missing key, not a mapping",
    files: {
      [DEFAULT_FILE]: `jobs:
  - groupId: "32B6E34B3D91647ABB20E7B8"
    clusterName: "-bad"
    restoreId: 123
    api: both
  - groupId: "${GROUP}"
    clusterName: Cluster0
    restoreID: "${RESTORE}"
    secret: x
  - just a string
  - groupId: "${"a".repeat(70)}"
    clusterName: "${"c".repeat(65)}"
    restoreId: "${RESTORE}"
`,
    },
    problems: [
      'jobs[0].groupId: "32B6E34B3D91647ABB20E7B8" is not a 24-character lowercase hexadecimal id',
      'jobs[0].clusterName: "-bad" is not a cluster name (letters, digits and hyphens, not starting with a hyphen)',
      "jobs[0].restoreId: 123 is not a string (put it in quotes)",
      'jobs[0].api: "both" is not one of auto, tenant, flex, dedicated',
      "jobs[1].restoreID: unknown key; did you mean restoreId?",
      "jobs[1].secret: unknown key; credentials are read only from the environment (MONGODB_ATLAS_* variables)",
      "jobs[1].restoreId: is required",
      'jobs[2]: "just a string" is not a mapping of groupId, clusterName, restoreId and api',
      `jobs[3].groupId: "${"a".repeat(57)}…" is not a 24-character lowercase hexadecimal id`,
      `jobs[3].clusterName: "${"c".repeat(57)}…" is longer than 64 characters`,
    ],
  },
  {
    name: "duplicate jobs name both indexes; a different restore id is not a duplicate",
    files: {
      [DEFAULT_FILE]: `jobs:
  - { groupId: "${GROUP}", clusterName: Cluster0, restoreId: "${RESTORE}" }
  - { groupId: "${GROUP}", clusterName: Cluster0, restoreId: "${RESTORE_2}" }
  - { groupId: "${GROUP}", clusterName: Cluster0, restoreId: "${RESTORE}", api: flex }
  - { groupId: "${GROUP}", clusterName: Cluster0, restoreId: "${RESTORE_2}" }
  - { groupId: "${GROUP}", clusterName: Cluster0, restoreId: "${RESTORE}" }
`,
    },
    problems: [
      "jobs[2]: duplicates jobs[0] (same groupId, clusterName and restoreId)",
      "jobs[3]: duplicates jobs[1] (same groupId, clusterName and restoreId)",
      "jobs[4]: duplicates jobs[0] (same groupId, clusterName and restoreId)",
    ],
  },
  {
    name: "watch not a list",
    files: { [DEFAULT_FILE]: `watch:\n  orgId: "${ORG}"\n` },
    problems: [`watch: {"orgId":"${ORG}"} is not a list of organizations, projects or clusters`],
  },
  {
    name: "watch entries: bad ids, both or neither owner, a cluster of an organization, typos, duplicates",
    files: {
      [DEFAULT_FILE]: `watch:
  - orgId: "6A00"
  - groupId: "${GROUP}"
    clusterName: "-bad"
  - orgId: "${ORG}"
    groupId: "${GROUP}"
  - clusterName: Flex0
  - orgId: "${ORG}"
    clusterName: Flex0
  - groupID: "${GROUP}"
  - just a string
  - groupId: "${GROUP}"
    clusterName: Flex0
  - { groupId: "${GROUP}", clusterName: Flex0 }
  - orgId: "${ORG}"
  - { orgId: "${ORG}" }
  - groupId: "${GROUP}"
`,
    },
    problems: [
      'watch[0].orgId: "6A00" is not a 24-character lowercase hexadecimal id',
      'watch[1].clusterName: "-bad" is not a cluster name (letters, digits and hyphens, not starting with a hyphen)',
      "watch[2]: names both orgId and groupId; give exactly one",
      "watch[3]: names neither orgId nor groupId; give exactly one",
      "watch[4].clusterName: needs groupId (a cluster belongs to a project)",
      "watch[5].groupID: unknown key; did you mean groupId?",
      "watch[5]: names neither orgId nor groupId; give exactly one",
      'watch[6]: "just a string" is not a mapping of orgId, or groupId and clusterName',
      "watch[8]: duplicates watch[7]",
      "watch[10]: duplicates watch[9]",
    ],
  },
  {
    name: "discoveryInterval under a second, not a duration; enableLifecycle not a boolean",
    files: { [DEFAULT_FILE]: withJob('discoveryInterval: 500ms\nenableLifecycle: "yes"') },
    env: {
      ...SERVICE_ACCOUNT,
      RESTORE_WATCH_DISCOVERY_INTERVAL: "5 minutes",
      RESTORE_WATCH_ENABLE_LIFECYCLE: "1",
    },
    problems: [
      'discoveryInterval: "500ms" is shorter than the 1s minimum',
      'enableLifecycle: "yes" is not true or false',
      'RESTORE_WATCH_DISCOVERY_INTERVAL: "5 minutes" is not a duration like 90s, 15m, 24h or 7d',
      'RESTORE_WATCH_ENABLE_LIFECYCLE: "1" is not true or false',
    ],
  },
  {
    name: "no credentials at all",
    env: {},
    problems: [
      "credentials: none set; set MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET (service account) or MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY (API key), each also accepted as NAME_FILE",
    ],
  },
  {
    name: "empty credential variables count as unset",
    env: { MONGODB_ATLAS_CLIENT_ID: "", MONGODB_ATLAS_CLIENT_SECRET_FILE: "" },
    problems: [
      "credentials: none set; set MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET (service account) or MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY (API key), each also accepted as NAME_FILE",
    ],
  },
  {
    name: "both kinds of credentials",
    env: { ...SERVICE_ACCOUNT, MONGODB_ATLAS_PUBLIC_API_KEY: "abcdefgh" },
    problems: [
      "credentials: both a service account (MONGODB_ATLAS_CLIENT_ID, MONGODB_ATLAS_CLIENT_SECRET) and an API key (MONGODB_ATLAS_PUBLIC_API_KEY) are set; set only one of the two pairs",
    ],
  },
  {
    name: "half a service account",
    env: { MONGODB_ATLAS_CLIENT_ID: "mdb_sa_id_x" },
    problems: [
      "MONGODB_ATLAS_CLIENT_SECRET: not set, but MONGODB_ATLAS_CLIENT_ID is; a service account needs both (either may be given as NAME_FILE)",
    ],
  },
  {
    name: "half an API key, the present half as a file",
    files: { [DEFAULT_FILE]: JOBS, "secrets/private": "s3cr3t-private\n" },
    env: { MONGODB_ATLAS_PRIVATE_API_KEY_FILE: "secrets/private" },
    problems: [
      "MONGODB_ATLAS_PUBLIC_API_KEY: not set, but MONGODB_ATLAS_PRIVATE_API_KEY_FILE is; an API key needs both (either may be given as NAME_FILE)",
    ],
  },
  {
    name: "a variable and its _FILE both set",
    files: { [DEFAULT_FILE]: JOBS, "secret.txt": "from-file\n" },
    env: {
      ...SERVICE_ACCOUNT,
      MONGODB_ATLAS_CLIENT_SECRET_FILE: "secret.txt",
    },
    problems: [
      "MONGODB_ATLAS_CLIENT_SECRET: set together with MONGODB_ATLAS_CLIENT_SECRET_FILE; set only one of them",
    ],
  },
  {
    name: "_FILE missing and empty (only a newline); paths shown, contents never",
    files: { [DEFAULT_FILE]: JOBS, "id.txt": "\n" },
    env: {
      MONGODB_ATLAS_CLIENT_ID_FILE: "id.txt",
      MONGODB_ATLAS_CLIENT_SECRET_FILE: "/run/secrets/missing",
    },
    problems: [
      'MONGODB_ATLAS_CLIENT_ID_FILE: file "<dir>/id.txt" is empty',
      'MONGODB_ATLAS_CLIENT_SECRET_FILE: file "/run/secrets/missing" not found',
    ],
  },
  {
    name: "_FILE that is a directory or unreadable",
    files: { [DEFAULT_FILE]: JOBS, "public.txt": "abcdefgh" },
    dirs: ["private-dir"],
    failReads: { "public.txt": "EACCES" },
    env: {
      MONGODB_ATLAS_PUBLIC_API_KEY_FILE: "public.txt",
      MONGODB_ATLAS_PRIVATE_API_KEY_FILE: "private-dir",
    },
    problems: [
      'MONGODB_ATLAS_PUBLIC_API_KEY_FILE: file "<dir>/public.txt" cannot be read: permission denied (EACCES)',
      'MONGODB_ATLAS_PRIVATE_API_KEY_FILE: file "<dir>/private-dir" is a directory',
    ],
  },
  {
    name: "an http:// base URL on a host that is not loopback, in the file",
    files: { [DEFAULT_FILE]: `${JOBS}baseUrl: "http://cloud.mongodb.com"\n` },
    problems: [
      'baseUrl: "http://cloud.mongodb.com" uses http:// on a host that is not loopback, which would send the credentials in cleartext; use https://, or set allowInsecureHttp: true (RESTORE_WATCH_ALLOW_INSECURE_HTTP) for a test server you trust',
    ],
  },
  {
    name: "an http:// base URL on a host that is not loopback, in the environment",
    env: { ...SERVICE_ACCOUNT, MONGODB_ATLAS_BASE_URL: "http://10.1.2.3:8080" },
    problems: [
      'MONGODB_ATLAS_BASE_URL: "http://10.1.2.3:8080" uses http:// on a host that is not loopback, which would send the credentials in cleartext; use https://, or set allowInsecureHttp: true (RESTORE_WATCH_ALLOW_INSECURE_HTTP) for a test server you trust',
    ],
  },
  {
    name: "a switch that is not a boolean",
    env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_ALLOW_INSECURE_HTTP: "yes" },
    problems: ['RESTORE_WATCH_ALLOW_INSECURE_HTTP: "yes" is not true or false'],
  },
  {
    name: "every kind at once, in order: file keys, jobs, environment, credentials",
    files: {
      [DEFAULT_FILE]: `logLevel: loud
jobs:
  - { groupId: nope, clusterName: Cluster0, restoreId: "${RESTORE}" }
api: sideways
`,
    },
    env: {
      RESTORE_WATCH_API: "tenant",
      RESTORE_WATCH_STATE_FILE: "",
      MONGODB_ATLAS_BASE_URL: "http://localhost:8080/x?y",
      MONGODB_ATLAS_PUBLIC_API_KEY: "abcdefgh",
    },
    problems: [
      'logLevel: "loud" is not one of fatal, error, warn, info, debug, trace, silent',
      'jobs[0].groupId: "nope" is not a 24-character lowercase hexadecimal id',
      'api: "sideways" is not one of auto, tenant, flex, dedicated',
      'MONGODB_ATLAS_BASE_URL: "http://localhost:8080/x?y" has a path, query or fragment; give only the scheme, host and port',
      "MONGODB_ATLAS_PRIVATE_API_KEY: not set, but MONGODB_ATLAS_PUBLIC_API_KEY is; an API key needs both (either may be given as NAME_FILE)",
    ],
  },
];

/** Runs one case and returns its problems as lines, with the working directory as `<dir>`. */
async function problemsOf(testCase: BadCase): Promise<string[]> {
  const dir = await tempDir(testCase.files ?? { [DEFAULT_FILE]: JOBS });
  for (const sub of testCase.dirs ?? []) await mkdir(join(dir, sub), { recursive: true });
  const failing = new Map(
    Object.entries(testCase.failReads ?? {}).map(([path, code]) => [join(dir, path), code]),
  );
  const error: unknown = await loadSettings({
    cwd: dir,
    env: testCase.env ?? { ...SERVICE_ACCOUNT },
    ...(testCase.configPath === undefined ? {} : { configPath: testCase.configPath }),
    readFile: async (path) => {
      const code = failing.get(path);
      if (code !== undefined) throw Object.assign(new Error(`${code}: ${path}`), { code });
      return readFile(path, "utf8");
    },
  }).then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  if (!(error instanceof ConfigError))
    throw new Error(`expected a ConfigError, got ${String(error)}`);
  expect(error.code).toBe("CONFIG_INVALID");
  return error.problems.map((problem) => formatProblem(problem).replaceAll(dir, "<dir>"));
}

describe("loadSettings: bad configurations (every problem, exact text)", () => {
  it.each(BAD.map((testCase) => [testCase.name, testCase] as const))("%s", async (_, testCase) => {
    expect(await problemsOf(testCase)).toEqual(testCase.problems);
  });

  it("never prints a secret or a secret file's content", async () => {
    const secrets = ["mdb_sa_sk_supersecret", "s3cr3t-private", "from-file", "hunter2"];
    for (const testCase of BAD) {
      const lines = (await problemsOf(testCase)).join("\n");
      for (const secret of secrets) expect(lines).not.toContain(secret);
    }
  });

  it("lists every problem in the message, one per line", async () => {
    const dir = await tempDir({ [DEFAULT_FILE]: withJob("api: both\nconcurrency: 0") });
    const error = await loadSettings({ cwd: dir, env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      [
        "invalid configuration (3 problems):",
        '  api: "both" is not one of auto, tenant, flex, dedicated',
        "  concurrency: 0 is not an integer from 1 to 64",
        "  credentials: none set; set MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET (service account) or MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY (API key), each also accepted as NAME_FILE",
      ].join("\n"),
    );
  });
});

describe("loadSettings: good configurations (the full effective Settings)", () => {
  it("fills every default around a minimal file", async () => {
    const dir = await tempDir({ [DEFAULT_FILE]: JOBS });
    const settings = await loadSettings({ cwd: dir, env: { ...SERVICE_ACCOUNT } });
    expect(settings).toEqual<Settings>({
      configFile: join(dir, DEFAULT_FILE),
      schedule: "*/30 * * * * *",
      api: "auto",
      tenantSunset: Date.parse("2026-01-22T00:00:00Z"),
      listen: { host: "0.0.0.0", port: 9917 },
      stateFile: join(dir, "data/state.json"),
      concurrency: 8,
      finishedRetentionMs: 24 * 3_600_000,
      logLevel: "info",
      baseUrl: "https://cloud.mongodb.com",
      timeouts: { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000 },
      credentials: {
        kind: "serviceAccount",
        clientId: "mdb_sa_id_0123456789abcdef01234567",
        clientSecret: "mdb_sa_sk_supersecret",
      },
      jobs: [{ groupId: GROUP, clusterName: "Cluster0", restoreId: RESTORE }],
      watch: [],
      discoveryIntervalMs: 300_000,
      enableLifecycle: false,
    });
  });

  it("accepts a file with no jobs, empty lists and only watch entries (a daemon deployed idle)", async () => {
    for (const text of ["# nothing yet\n", "jobs: []\nwatch: []\n", "watch:\n"]) {
      const dir = await tempDir({ [DEFAULT_FILE]: text });
      const settings = await loadSettings({ cwd: dir, env: { ...SERVICE_ACCOUNT } });
      expect([settings.jobs, settings.watch]).toEqual([[], []]);
    }
    const dir = await tempDir({
      [DEFAULT_FILE]: `watch:
  - orgId: "${ORG}"
  - groupId: "${GROUP}"
  - groupId: "${GROUP}"
    clusterName: Flex0
discoveryInterval: 1s
enableLifecycle: true
`,
    });
    const settings = await loadSettings({
      cwd: dir,
      env: {
        ...SERVICE_ACCOUNT,
        RESTORE_WATCH_DISCOVERY_INTERVAL: "2m",
        RESTORE_WATCH_ENABLE_LIFECYCLE: "false",
      },
    });
    expect([
      settings.jobs,
      settings.watch,
      settings.discoveryIntervalMs,
      settings.enableLifecycle,
    ]).toEqual([
      [],
      [
        { kind: "organization", orgId: ORG },
        { kind: "project", groupId: GROUP },
        { kind: "cluster", groupId: GROUP, clusterName: "Flex0" },
      ],
      120_000,
      false,
    ]);
    const fileOnly = await loadSettings({ cwd: dir, env: { ...SERVICE_ACCOUNT } });
    expect([fileOnly.discoveryIntervalMs, fileOnly.enableLifecycle]).toEqual([1_000, true]);
  });

  it("reads a JSON file as JSON, also under a .yaml name: a repeated key keeps its last value", async () => {
    const jobs = Array.from({ length: 3 }, (_, i) => ({
      groupId: GROUP,
      clusterName: `Flex${i}`,
      restoreId: RESTORE,
    }));
    const text = `  {"api": "tenant", "api": "flex", "jobs": ${JSON.stringify(jobs)}}\n`;
    for (const name of ["watch.json", DEFAULT_FILE]) {
      const dir = await tempDir({ [name]: text });
      const settings = await loadSettings({
        cwd: dir,
        env: { ...SERVICE_ACCOUNT },
        configPath: name,
      });
      expect([settings.api, settings.jobs]).toEqual(["flex", jobs]);
    }
  });

  it("accepts http:// on loopback, and elsewhere only when allowed; reads the health staleness", async () => {
    const read = async (file: string, env: Record<string, string> = {}) => {
      const dir = await tempDir({ [DEFAULT_FILE]: `${JOBS}${file}` });
      return loadSettings({ cwd: dir, env: { ...SERVICE_ACCOUNT, ...env } });
    };
    for (const url of ["http://localhost:9918", "http://127.0.0.2:8080", "http://[::1]:9918"]) {
      expect((await read(`baseUrl: "${url}"\n`)).baseUrl).toBe(url);
    }
    const allowed = await read(`baseUrl: "http://simulator:9918"\nallowInsecureHttp: true\n`);
    expect(allowed).toMatchObject({ baseUrl: "http://simulator:9918", allowInsecureHttp: true });
    const byEnv = await read("", {
      MONGODB_ATLAS_BASE_URL: "http://simulator:9918",
      RESTORE_WATCH_ALLOW_INSECURE_HTTP: "true",
      RESTORE_WATCH_HEALTH_STALE_AFTER: "90s",
    });
    expect(byEnv).toMatchObject({ allowInsecureHttp: true, healthStaleAfterMs: 90_000 });
    expect((await read(`healthStaleAfter: 10m\n`)).healthStaleAfterMs).toBe(600_000);
  });

  it("reads every key from the file; the environment overrides it; empty variables are unset", async () => {
    const file = `schedule: "0 */5 * * * *"
api: tenant
tenantSunset: 2026-03-01
listen: "127.0.0.1:9000"
stateFile: /var/lib/restore-watch/state.json
concurrency: 4
finishedRetention: 1h30m
logLevel: debug
baseUrl: "http://localhost:8080/"
timeouts: { connect: 2s, body: 1m }
jobs:
  - groupId: "${GROUP}"
    clusterName: Cluster0
    restoreId: "${RESTORE}"
  - groupId: "${GROUP}"
    clusterName: flex-1
    restoreId: "${RESTORE_2}"
    api: flex
`;
    const dir = await tempDir({ "etc/watch.yaml": file });
    const settings = await loadSettings({
      cwd: dir,
      configPath: "etc/watch.yaml",
      env: {
        MONGODB_ATLAS_PUBLIC_API_KEY: "abcdefgh",
        MONGODB_ATLAS_PRIVATE_API_KEY: "0123-private",
        RESTORE_WATCH_CONFIG: "ignored-because-of-the-flag.yaml",
        RESTORE_WATCH_SCHEDULE: "* * * * *",
        RESTORE_WATCH_API: "",
        RESTORE_WATCH_TENANT_SUNSET: "2026-01-15",
        RESTORE_WATCH_LISTEN: "[::1]:9100",
        RESTORE_WATCH_STATE_FILE: "state/here.json",
        RESTORE_WATCH_CONCURRENCY: "16",
        LOG_LEVEL: "",
        MONGODB_ATLAS_BASE_URL: "https://cloud-qa.mongodb.com",
      },
    });
    expect(settings).toEqual<Settings>({
      configFile: join(dir, "etc/watch.yaml"),
      schedule: "* * * * *",
      api: "tenant",
      tenantSunset: Date.parse("2026-01-15T00:00:00Z"),
      listen: { host: "::1", port: 9100 },
      stateFile: join(dir, "state/here.json"),
      concurrency: 16,
      finishedRetentionMs: 90 * 60_000,
      logLevel: "debug",
      baseUrl: "https://cloud-qa.mongodb.com",
      timeouts: { connectMs: 2_000, headersMs: 30_000, bodyMs: 60_000 },
      credentials: { kind: "apiKey", publicKey: "abcdefgh", privateKey: "0123-private" },
      jobs: [
        { groupId: GROUP, clusterName: "Cluster0", restoreId: RESTORE },
        { groupId: GROUP, clusterName: "flex-1", restoreId: RESTORE_2, api: "flex" },
      ],
      watch: [],
      discoveryIntervalMs: 300_000,
      enableLifecycle: false,
    });
  });

  it("reads a tab-indented JSON file named by RESTORE_WATCH_CONFIG, credentials from trimmed _FILEs", async () => {
    const json = JSON.stringify(
      {
        listen: ":9917",
        stateFile: "/data/state.json",
        baseUrl: "http://127.0.0.1:4010",
        jobs: [{ groupId: GROUP, clusterName: "c", restoreId: RESTORE, api: "auto" }],
      },
      null,
      "\t",
    );
    const dir = await tempDir({
      "watch.json": json,
      "run/secrets/id": "mdb_sa_id_fromfile\n",
      "run/secrets/secret": "line-one-secret\r\n\n",
    });
    const settings = await loadSettings({
      cwd: dir,
      env: {
        RESTORE_WATCH_CONFIG: join(dir, "watch.json"),
        MONGODB_ATLAS_CLIENT_ID_FILE: "run/secrets/id",
        MONGODB_ATLAS_CLIENT_SECRET_FILE: join(dir, "run/secrets/secret"),
      },
    });
    expect(settings).toEqual<Settings>({
      configFile: join(dir, "watch.json"),
      schedule: "*/30 * * * * *",
      api: "auto",
      tenantSunset: Date.parse("2026-01-22T00:00:00Z"),
      listen: { host: "0.0.0.0", port: 9917 },
      stateFile: "/data/state.json",
      concurrency: 8,
      finishedRetentionMs: 86_400_000,
      logLevel: "info",
      baseUrl: "http://127.0.0.1:4010",
      timeouts: { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000 },
      credentials: {
        kind: "serviceAccount",
        clientId: "mdb_sa_id_fromfile",
        clientSecret: "line-one-secret",
      },
      jobs: [{ groupId: GROUP, clusterName: "c", restoreId: RESTORE, api: "auto" }],
      watch: [],
      discoveryIntervalMs: 300_000,
      enableLifecycle: false,
    });
  });

  it("accepts the boundaries: concurrency 1 and 64, port 1 and 65535, a 64-character name, 5m timeouts", async () => {
    const name = `a${"-".repeat(62)}z`;
    const file = `concurrency: 64
listen: "metrics.internal:65535"
timeouts: { connect: 5m, headers: 4m59s999ms, body: 300s }
finishedRetention: 7d
tenantSunset: "2028-02-29"
jobs:
  - { groupId: "${GROUP}", clusterName: "${name}", restoreId: "${RESTORE}" }
`;
    const dir = await tempDir({ [DEFAULT_FILE]: file });
    const env = { ...SERVICE_ACCOUNT, RESTORE_WATCH_CONCURRENCY: "1", RESTORE_WATCH_LISTEN: ":1" };
    const settings = await loadSettings({ cwd: dir, env });
    expect({
      concurrency: settings.concurrency,
      listen: settings.listen,
      timeouts: settings.timeouts,
      finishedRetentionMs: settings.finishedRetentionMs,
      tenantSunset: settings.tenantSunset,
      clusterName: settings.jobs[0]?.clusterName,
    }).toEqual({
      concurrency: 1,
      listen: { host: "0.0.0.0", port: 1 },
      timeouts: { connectMs: 300_000, headersMs: 299_999, bodyMs: 300_000 },
      finishedRetentionMs: 7 * 86_400_000,
      tenantSunset: Date.parse("2028-02-29T00:00:00Z"),
      clusterName: name,
    });
    const withoutEnv = await loadSettings({ cwd: dir, env: { ...SERVICE_ACCOUNT } });
    expect([withoutEnv.concurrency, withoutEnv.listen]).toEqual([
      64,
      { host: "metrics.internal", port: 65_535 },
    ]);
  });
});

describe("loadSettings: the dedicated family", () => {
  it("takes api: dedicated per job and globally (auto never picks it)", async () => {
    const dir = await tempDir({
      [DEFAULT_FILE]: `api: dedicated
jobs:
  - groupId: "${GROUP}"
    clusterName: Cluster0
    restoreId: "${RESTORE}"
  - groupId: "${GROUP}"
    clusterName: Flex0
    restoreId: "${RESTORE_2}"
    api: flex
`,
    });
    const settings: Settings = await loadSettings({ cwd: dir, env: { ...SERVICE_ACCOUNT } });
    expect(settings.api).toBe("dedicated");
    expect(settings.jobs.map((job) => job.api)).toEqual([undefined, "flex"]);
    const fromEnv = await loadSettings({
      cwd: dir,
      env: { ...SERVICE_ACCOUNT, RESTORE_WATCH_API: "auto" },
    });
    expect(fromEnv.api).toBe("auto");
  });
});
