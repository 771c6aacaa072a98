import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PROMTOOL, ROOT, run, type Tool } from "./tools.js";

const ALERTS = [
  "AtlasRestoreJobFailed",
  "AtlasRestoreJobCancelled",
  "AtlasRestoreDedicatedForbidden",
  "AtlasRestoreJobSlow",
  "AtlasRestoreApiDown",
  "AtlasRestoreApiErrors",
  "AtlasRestoreJobPollFailing",
  "AtlasRestoreApiSunsetSoon",
  "AtlasRestoreWatchDown",
];

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface AlertTest {
  eval_time: string;
  alertname: string;
  exp_alerts: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[];
}

async function readYaml<T>(path: string): Promise<T> {
  return parse(await readFile(join(ROOT, path), "utf8")) as T;
}

describe("tools", () => {
  it("fails with the Debian package to install when a tool is missing", async () => {
    const missing: Tool = { command: "atlas-restore-watch-no-such-tool", debianPackage: "pkg-x" };
    await expect(run(missing, ["--version"])).rejects.toThrow(
      "atlas-restore-watch-no-such-tool is not installed: install Debian's pkg-x package " +
        "(apt-get install pkg-x); these tests need the real tool and do not skip",
    );
  });
});

describe("promtool", () => {
  it("accepts prometheus.yml and follows it to the 9 rules of alerts.yml", async () => {
    const result = await run(PROMTOOL, ["check", "config", "config/prometheus/prometheus.yml"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("SUCCESS: 1 rule files found");
    expect(result.stdout).toContain(
      "SUCCESS: config/prometheus/prometheus.yml is valid prometheus config file syntax",
    );
    expect(result.stdout).toContain("Checking config/prometheus/alerts.yml");
    expect(result.stdout).toContain("SUCCESS: 9 rules found");
  });

  it("accepts alerts.yml with 9 rules", async () => {
    const result = await run(PROMTOOL, ["check", "rules", "config/prometheus/alerts.yml"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS: 9 rules found/);
  });

  it("passes every alert unit test", async () => {
    const result = await run(PROMTOOL, ["test", "rules", "config/prometheus/alerts.test.yml"]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("Unit Testing:  config/prometheus/alerts.test.yml");
    expect(result.stdout).toMatch(/^\s+SUCCESS$/m);
    expect(result.stdout + result.stderr).not.toContain("FAILED");
  });
});

// The unit tests must catch a rule that lost what the alert is about.
describe("alert unit tests against broken rules", () => {
  let dir: string;
  let rules: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "restore-watch-alerts-"));
    await copyFile(join(ROOT, "config/prometheus/alerts.test.yml"), join(dir, "alerts.test.yml"));
    rules = await readFile(join(ROOT, "config/prometheus/alerts.yml"), "utf8");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    {
      what: "the sunset alert without its join on jobs of that API",
      from: "and on (api)\n          atlas_restore_job_status\n",
      to: "\n",
      failing: "AtlasRestoreApiSunsetSoon",
    },
    {
      what: "the slow alert counting finished jobs",
      from: 'status=~"PENDING|QUEUED|RUNNING"',
      to: 'status=~".+"',
      failing: "AtlasRestoreJobSlow",
    },
    {
      what: "the poll-failing alert without its 15 minutes",
      from: "expr: atlas_restore_job_poll_success == 0\n        for: 15m\n",
      to: "expr: atlas_restore_job_poll_success == 0\n",
      failing: "AtlasRestoreJobPollFailing",
    },
    {
      what: "the watch-down alert without absent()",
      from: ' or absent(up{job="atlas-restore-watch"})',
      to: "",
      failing: "AtlasRestoreWatchDown",
    },
  ])("fails for $what", async ({ from, to, failing }) => {
    expect(rules).toContain(from);
    await writeFile(join(dir, "alerts.yml"), rules.replace(from, to));
    const result = await run(PROMTOOL, ["test", "rules", "alerts.test.yml"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).toContain(`alertname: ${failing}`);
  });
});

describe("alert rules", () => {
  it("are the nine alerts of group atlas-restore-watch, each telling on-call what to do", async () => {
    const file = await readYaml<{ groups: { name: string; rules: Rule[] }[] }>(
      "config/prometheus/alerts.yml",
    );
    expect(file.groups.map((group) => group.name)).toEqual(["atlas-restore-watch"]);
    const rules = file.groups[0]?.rules ?? [];
    expect(rules.map((rule) => rule.alert)).toEqual(ALERTS);
    for (const rule of rules) {
      expect(["critical", "warning"], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toMatch(/\S/);
      expect(rule.annotations?.description, rule.alert).toContain("{{ $labels.");
    }
    const byName = new Map(rules.map((rule) => [rule.alert, rule]));
    expect(byName.get("AtlasRestoreJobFailed")?.labels?.severity).toBe("critical");
    expect(byName.get("AtlasRestoreJobFailed")?.for).toBeUndefined();
    expect(byName.get("AtlasRestoreApiDown")?.for).toBe("10m");
    expect(byName.get("AtlasRestoreApiErrors")?.for).toBe("10m");
    expect(byName.get("AtlasRestoreWatchDown")?.for).toBe("5m");
    // Computed from the timestamps at query time, not from a precomputed age.
    expect(byName.get("AtlasRestoreJobSlow")?.expr).toContain(
      "time() - atlas_restore_job_scheduled_timestamp_seconds",
    );
  });

  it("are each unit-tested firing, with labels and annotations, and not firing", async () => {
    const file = await readYaml<{
      rule_files: string[];
      tests: { alert_rule_test: AlertTest[] }[];
    }>("config/prometheus/alerts.test.yml");
    expect(file.rule_files).toEqual(["alerts.yml"]);
    const cases = file.tests.flatMap((test) => test.alert_rule_test);
    for (const alert of ALERTS) {
      const mine = cases.filter((testCase) => testCase.alertname === alert);
      const firing = mine.filter((testCase) => testCase.exp_alerts.length > 0);
      expect(firing.length, `${alert} firing`).toBeGreaterThan(0);
      expect(
        mine.filter((testCase) => testCase.exp_alerts.length === 0).length,
        alert,
      ).toBeGreaterThan(0);
      for (const expected of firing.flatMap((testCase) => testCase.exp_alerts)) {
        expect(expected.exp_labels?.severity, alert).toMatch(/^(critical|warning)$/);
        expect(Object.keys(expected.exp_annotations ?? {}).sort(), alert).toEqual([
          "description",
          "summary",
        ]);
      }
    }
  });
});

describe("prometheus.yml", () => {
  it("scrapes restore-watch:9917 every 15s as job atlas-restore-watch and loads alerts.yml", async () => {
    const config = await readYaml<{
      rule_files: string[];
      scrape_configs: {
        job_name: string;
        scrape_interval: string;
        static_configs: { targets: string[] }[];
      }[];
    }>("config/prometheus/prometheus.yml");
    expect(config.rule_files).toEqual(["alerts.yml"]);
    expect(config.scrape_configs).toEqual([
      {
        job_name: "atlas-restore-watch",
        scrape_interval: "15s",
        static_configs: [{ targets: ["restore-watch:9917"] }],
      },
    ]);
  });
});
