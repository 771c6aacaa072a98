import { describe, expect, it } from "vitest";
import { describeSettings } from "../../src/config/describe-settings.js";
import type { Settings } from "../../src/config/settings.js";

const base: Settings = {
  configFile: "/etc/restore-watch/restore-watch.yaml",
  schedule: "*/30 * * * * *",
  api: "auto",
  tenantSunset: Date.parse("2026-01-22T00:00:00Z"),
  listen: { host: "::", port: 9917 },
  stateFile: "/var/lib/restore-watch/state.json",
  concurrency: 8,
  finishedRetentionMs: 90 * 60_000,
  logLevel: "info",
  baseUrl: "https://cloud.mongodb.com",
  timeouts: { connectMs: 10_000, headersMs: 90_500, bodyMs: 30_000 },
  credentials: { kind: "serviceAccount", clientId: "mdb_sa_id_1", clientSecret: "sa-secret" },
  jobs: [
    {
      groupId: "32b6e34b3d91647abb20e7b8",
      clusterName: "a",
      restoreId: "6a793f81d2c4a03c5e4b1f20",
    },
    {
      groupId: "32b6e34b3d91647abb20e7b8",
      clusterName: "b",
      restoreId: "6a793f81d2c4a03c5e4b1f21",
      api: "flex",
    },
  ],
  watch: [
    { kind: "organization", orgId: "6a0000000000000000000001" },
    { kind: "cluster", groupId: "32b6e34b3d91647abb20e7b8", clusterName: "Flex0" },
  ],
  discoveryIntervalMs: 90_000,
  enableLifecycle: true,
};

describe("describeSettings", () => {
  it("prints the file's notation, each job's effective mode, the watch entries, the secret redacted", () => {
    expect(describeSettings(base)).toEqual({
      configFile: "/etc/restore-watch/restore-watch.yaml",
      schedule: "*/30 * * * * *",
      api: "auto",
      tenantSunset: "2026-01-22",
      listen: "[::]:9917",
      stateFile: "/var/lib/restore-watch/state.json",
      concurrency: 8,
      finishedRetention: "1h30m",
      logLevel: "info",
      baseUrl: "https://cloud.mongodb.com",
      timeouts: { connect: "10s", headers: "1m30s500ms", body: "30s" },
      credentials: { kind: "serviceAccount", clientId: "mdb_sa_id_1", clientSecret: "<redacted>" },
      jobs: [
        {
          groupId: "32b6e34b3d91647abb20e7b8",
          clusterName: "a",
          restoreId: "6a793f81d2c4a03c5e4b1f20",
          api: "auto",
        },
        {
          groupId: "32b6e34b3d91647abb20e7b8",
          clusterName: "b",
          restoreId: "6a793f81d2c4a03c5e4b1f21",
          api: "flex",
        },
      ],
      watch: [
        { orgId: "6a0000000000000000000001" },
        { groupId: "32b6e34b3d91647abb20e7b8", clusterName: "Flex0" },
      ],
      discoveryInterval: "1m30s",
      enableLifecycle: true,
    });
  });

  it("redacts the API key's private key and never prints either secret", () => {
    const settings: Settings = {
      ...base,
      configFile: undefined,
      listen: { host: "0.0.0.0", port: 1 },
      credentials: { kind: "apiKey", publicKey: "abcdefgh", privateKey: "pk-secret" },
    };
    const described = describeSettings(settings);
    expect([described["configFile"], described["listen"], described["credentials"]]).toEqual([
      null,
      "0.0.0.0:1",
      { kind: "apiKey", publicKey: "abcdefgh", privateKey: "<redacted>" },
    ]);
    const printed = JSON.stringify([describeSettings(base), described]);
    expect(printed).not.toContain("sa-secret");
    expect(printed).not.toContain("pk-secret");
  });
});
