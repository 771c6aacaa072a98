import { describe, expect, it } from "vitest";
import { parseCliArgs, USAGE } from "../../src/config/cli-args.js";

describe("parseCliArgs", () => {
  it.each<[string[], ReturnType<typeof parseCliArgs>]>([
    [[], { checkConfig: false, help: false, version: false }],
    [["--config", "a.yaml"], { config: "a.yaml", checkConfig: false, help: false, version: false }],
    [
      ["--config=b.json", "--check-config"],
      { config: "b.json", checkConfig: true, help: false, version: false },
    ],
    [["-h"], { checkConfig: false, help: true, version: false }],
    [["--help", "--version"], { checkConfig: false, help: true, version: true }],
    [["--frobnicate"], { error: 'unknown option "--frobnicate"' }],
    [["-x"], { error: 'unknown option "-x"' }],
    [["watch.yaml"], { error: 'unexpected argument "watch.yaml"' }],
    [["--config"], { error: "option --config needs a file path: --config FILE" }],
    [["--config", "--check-config"], { error: "option --config needs a file path: --config FILE" }],
    [["--config="], { error: "option --config needs a file path: --config FILE" }],
    [["--config", "a", "--config", "b"], { error: "option --config is given more than once" }],
    [["--check-config=yes"], { error: "option '--check-config' does not take an argument" }],
  ])("%j", (argv, expected) => {
    expect(parseCliArgs(argv)).toEqual(expected);
  });

  it("documents every flag and every variable in the usage text, ending with a newline", () => {
    for (const word of [
      "--config FILE",
      "--check-config",
      "--help",
      "--version",
      "RESTORE_WATCH_CONFIG",
      "RESTORE_WATCH_SCHEDULE",
      "RESTORE_WATCH_API",
      "RESTORE_WATCH_TENANT_SUNSET",
      "RESTORE_WATCH_LISTEN",
      "RESTORE_WATCH_STATE_FILE",
      "RESTORE_WATCH_CONCURRENCY",
      "LOG_LEVEL",
      "MONGODB_ATLAS_BASE_URL",
      "MONGODB_ATLAS_CLIENT_ID",
      "MONGODB_ATLAS_CLIENT_SECRET",
      "MONGODB_ATLAS_PUBLIC_API_KEY",
      "MONGODB_ATLAS_PRIVATE_API_KEY",
      "NAME_FILE",
      "(*/30 * * * * *)",
      "(10s/30s/30s, at most 5m)",
    ]) {
      expect(USAGE).toContain(word);
    }
    expect(USAGE.endsWith("\n")).toBe(true);
    expect(Math.max(...USAGE.split("\n").map((line) => line.length))).toBeLessThanOrEqual(100);
  });
});
