import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadSettings } from "../../src/config/load-settings.js";
import type { Settings } from "../../src/config/settings.js";

const repo = fileURLToPath(new URL("../..", import.meta.url));

describe("config/restore-watch.yaml, the shipped example", () => {
  it("loads, and its explicit values are exactly the defaults", async () => {
    const env = { MONGODB_ATLAS_CLIENT_ID: "id", MONGODB_ATLAS_CLIENT_SECRET: "secret" };
    const shipped = await loadSettings({ cwd: repo, env });
    expect(shipped).toEqual<Settings>({
      configFile: `${repo}config/restore-watch.yaml`,
      schedule: "*/30 * * * * *",
      api: "auto",
      tenantSunset: Date.parse("2026-01-22T00:00:00Z"),
      listen: { host: "0.0.0.0", port: 9917 },
      stateFile: `${repo}data/state.json`,
      concurrency: 8,
      finishedRetentionMs: 86_400_000,
      logLevel: "info",
      baseUrl: "https://cloud.mongodb.com",
      timeouts: { connectMs: 10_000, headersMs: 30_000, bodyMs: 30_000 },
      credentials: { kind: "serviceAccount", clientId: "id", clientSecret: "secret" },
      jobs: [
        {
          groupId: "32b6e34b3d91647abb20e7b8",
          clusterName: "FlexCluster0",
          restoreId: "6a793f81d2c4a03c5e4b1f21",
          api: "flex",
        },
        {
          groupId: "32b6e34b3d91647abb20e7b8",
          clusterName: "Production",
          restoreId: "6a793f81d2c4a03c5e4b1f22",
          api: "dedicated",
        },
      ],
      watch: [{ kind: "project", groupId: "32b6e34b3d91647abb20e7b8" }],
      discoveryIntervalMs: 300_000,
      enableLifecycle: false,
    });

    // The same file with only its watch and jobs gives the same settings: the values shown are
    // the defaults.
    const text = await readFile(`${repo}config/restore-watch.yaml`, "utf8");
    const jobsOnly = text.slice(text.indexOf("\nwatch:") + 1);
    const minimal = await loadSettings({ cwd: repo, env, readFile: async () => jobsOnly });
    expect(minimal).toEqual(shipped);
  });
});
