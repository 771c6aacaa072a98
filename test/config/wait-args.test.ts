import { describe, expect, it } from "vitest";
import { USAGE } from "../../src/config/cli-args.js";
import {
  parseWaitArgs,
  resolveGroupId,
  WAIT_USAGE,
  type WaitArgs,
} from "../../src/config/wait-args.js";

const G = "32b6e34b3d91647abb20e7b8";
const A = "6a793f81d2c4a03c000000a1";
const B = "6a793f81d2c4a03c000000b2";

const base = (extra: Partial<WaitArgs> = {}): WaitArgs => ({
  clusterName: "Flex0",
  api: "auto",
  timeoutMs: undefined,
  intervalMs: 10_000,
  restoreIds: [A],
  ...extra,
});

describe("parseWaitArgs", () => {
  it.each<[string[], ReturnType<typeof parseWaitArgs>]>([
    [["--cluster-name", "Flex0", A], base()],
    [
      ["--group-id", G, "--cluster-name=Flex0", "--api", "flex", A, B],
      base({ groupId: G, api: "flex", restoreIds: [A, B] }),
    ],
    [["--cluster-name", "Flex0", "--api", "tenant", A], base({ api: "tenant" })],
    [
      ["--cluster-name", "Cluster0", "--api", "dedicated", A],
      base({ clusterName: "Cluster0", api: "dedicated" }),
    ],
    [["--cluster-name", "Flex0", "--timeout", "20m", A], base({ timeoutMs: 1_200_000 })],
    [["--cluster-name", "Flex0", "--timeout", "1h30m", A], base({ timeoutMs: 5_400_000 })],
    [["--cluster-name", "Flex0", "--timeout", "0", A], base()],
    [["--cluster-name", "Flex0", "--timeout", "0s", A], base()],
    [["--cluster-name", "Flex0", "--interval", "1s", A], base({ intervalMs: 1_000 })],
    [["--cluster-name", "Flex0", "--interval", "1h", A], base({ intervalMs: 3_600_000 })],
    [["--cluster-name", "Flex0", "--", A], base()],
    [["--help"], { help: true }],
    [["-h", "--frobnicate"], { help: true }],
    [["--cluster-name", "bad name!", "--help"], { help: true }],
    // Syntax: the first problem.
    [["--frobnicate", A], { error: 'unknown option "--frobnicate"' }],
    [["-x"], { error: 'unknown option "-x"' }],
    [
      ["--cluster-name"],
      { error: "option --cluster-name needs a cluster name: --cluster-name NAME" },
    ],
    [
      ["--cluster-name", "Flex0", "--timeout", "--interval", "5s", A],
      { error: "option --timeout needs a duration: --timeout DURATION" },
    ],
    [["--group-id"], { error: "option --group-id needs a project id: --group-id ID" }],
    [["--api"], { error: "option --api needs one of auto, tenant, flex, dedicated: --api MODE" }],
    [["--interval"], { error: "option --interval needs a duration: --interval DURATION" }],
    [
      ["--cluster-name", "Flex0", "--api", "flex", "--api", "tenant", A],
      { error: "option --api is given more than once" },
    ],
    [["--help=yes"], { error: "option '-h, --help' does not take an argument" }],
    // Values: every problem at once, each naming its flag or id.
    [[A], { error: "option --cluster-name is required" }],
    [["--cluster-name", "Flex0"], { error: "at least one RESTORE_ID is required" }],
    [
      ["--cluster-name=-Flex0", A],
      {
        error:
          'option --cluster-name: "-Flex0" is not a cluster name (letters, digits and hyphens, not starting with a hyphen)',
      },
    ],
    [
      ["--cluster-name", "x".repeat(65), A],
      { error: `option --cluster-name: "${"x".repeat(57)}…" is longer than 64 characters` },
    ],
    [
      ["--group-id", "32B6E34B3D91647ABB20E7B8", "--cluster-name", "Flex0", A],
      {
        error:
          'option --group-id: "32B6E34B3D91647ABB20E7B8" is not a 24-character lowercase hexadecimal id',
      },
    ],
    [
      ["--cluster-name", "Flex0", "--api", "serverless", A],
      { error: 'option --api: "serverless" is not one of auto, tenant, flex, dedicated' },
    ],
    [
      ["--cluster-name", "Flex0", "--timeout", "5", A],
      { error: 'option --timeout: "5" is not a duration like 90s, 15m, 24h or 7d' },
    ],
    [
      ["--cluster-name", "Flex0", "--interval", "0", A],
      { error: 'option --interval: "0" is not a duration like 90s, 15m, 24h or 7d' },
    ],
    [
      ["--cluster-name", "Flex0", "--interval", "999ms", A],
      { error: 'option --interval: "999ms" is shorter than the 1s minimum' },
    ],
    [
      ["--cluster-name", "Flex0", "--interval", "61m", A],
      { error: 'option --interval: "61m" is longer than the 1h maximum' },
    ],
    [
      ["--cluster-name", "Flex0", A, "xyz", A],
      {
        error: [
          'restore id "xyz" is not a 24-character lowercase hexadecimal id',
          `restore id "${A}" is given more than once`,
        ].join("\n"),
      },
    ],
    [
      ["--api", "serverless", "--timeout", "soon", "6A793F81D2C4A03C000000A1"],
      {
        error: [
          "option --cluster-name is required",
          'option --api: "serverless" is not one of auto, tenant, flex, dedicated',
          'option --timeout: "soon" is not a duration like 90s, 15m, 24h or 7d',
          'restore id "6A793F81D2C4A03C000000A1" is not a 24-character lowercase hexadecimal id',
        ].join("\n"),
      },
    ],
  ])("%j", (argv, expected) => {
    expect(parseWaitArgs(argv)).toEqual(expected);
  });
});

describe("resolveGroupId", () => {
  it.each<[Pick<WaitArgs, "groupId">, NodeJS.ProcessEnv, ReturnType<typeof resolveGroupId>]>([
    [{ groupId: G }, { MONGODB_ATLAS_PROJECT_ID: "ignored" }, { groupId: G }],
    [{}, { MONGODB_ATLAS_PROJECT_ID: G }, { groupId: G }],
    [{}, {}, { error: "option --group-id is required unless MONGODB_ATLAS_PROJECT_ID is set" }],
    [
      {},
      { MONGODB_ATLAS_PROJECT_ID: "" },
      { error: "option --group-id is required unless MONGODB_ATLAS_PROJECT_ID is set" },
    ],
    [
      {},
      { MONGODB_ATLAS_PROJECT_ID: "proj-1" },
      {
        error: 'MONGODB_ATLAS_PROJECT_ID: "proj-1" is not a 24-character lowercase hexadecimal id',
      },
    ],
  ])("%j with %j", (args, env, expected) => {
    expect(resolveGroupId(args, env)).toEqual(expected);
  });
});

describe("the usage texts", () => {
  it("document every flag of wait and every exit code, within 100 columns", () => {
    for (const word of [
      "--group-id ID",
      "--cluster-name NAME",
      "--api MODE",
      "auto | tenant | flex | dedicated",
      "--timeout DURATION",
      "--interval DURATION",
      "RESTORE_ID...",
      "MONGODB_ATLAS_PROJECT_ID",
      "MONGODB_ATLAS_BASE_URL",
      "NAME_FILE",
      "(10s)",
      ...["0 ", "1 ", "2 ", "3 ", "64 ", "78 ", "130 "].map((code) => `\n  ${code}`),
    ]) {
      expect(WAIT_USAGE).toContain(word);
    }
    for (const text of [WAIT_USAGE, USAGE]) {
      expect(text.endsWith("\n")).toBe(true);
      expect(Math.max(...text.split("\n").map((line) => line.length))).toBeLessThanOrEqual(100);
    }
  });

  it("the daemon's usage names the subcommand and its exit codes", () => {
    expect(USAGE).toContain("atlas-restore-watch wait [--group-id ID] --cluster-name NAME");
    expect(USAGE).toContain("130  interrupted (SIGINT or SIGTERM)");
  });
});
