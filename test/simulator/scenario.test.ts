import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LISTING_MEDIA_TYPES, MEDIA_TYPES } from "../../src/atlas/endpoints.js";
import {
  ScenarioError,
  loadScenarioFile,
  parseScenario,
  startSimulator,
} from "../../src/simulator/index.js";
import { GROUP, JOB, baseScenario, json, send } from "./helpers.js";

function problems(input: unknown): readonly string[] {
  try {
    parseScenario(input);
  } catch (error) {
    if (error instanceof ScenarioError) return error.problems;
    throw error;
  }
  throw new Error("the scenario was accepted");
}

const job = (extra: Record<string, unknown> = {}) => ({
  groupId: GROUP,
  clusterName: "Cluster0",
  id: JOB,
  script: [{ afterSeconds: 0, status: "PENDING" }],
  ...extra,
});

describe("parseScenario", () => {
  it("applies the defaults", () => {
    const s = parseScenario({ jobs: [job()] });
    expect(s).toEqual({
      apiKeys: [],
      serviceAccounts: [],
      tokenTtlSeconds: 3600,
      digest: { algorithm: "MD5", nonceTtlSeconds: 300 },
      tenant: {},
      rateLimit: { capacity: 1e9, refillPerMinute: 1e9 },
      projects: [],
      clusters: [],
      // The delivery type's default depends on the cluster (RESTORE, or automated if dedicated).
      jobs: [{ ...job(), createdAfterSeconds: 0 }],
      faults: [],
    });
  });

  it("names the path and the value of each problem", () => {
    const input = {
      jobs: [
        job(),
        job({ id: "6a793f81d2c4a03c5e4b1f21" }),
        job({
          id: "6a793f81d2c4a03c5e4b1f22",
          script: [
            { afterSeconds: 0, status: "PENDING" },
            { afterSeconds: 5, status: 7 },
          ],
        }),
      ],
    };
    expect(problems(input)).toEqual([
      "jobs[2].script[1].status: Invalid input: expected string, received number (got 7)",
    ]);
  });

  it.each([
    [
      { jobs: [job({ groupId: "XYZ" })] },
      'jobs[0].groupId: must be 24 lowercase hex digits (got "XYZ")',
    ],
    [{ jobs: [job({ colour: "red" })] }, "jobs[0].colour: unknown key"],
    [{ extra: 1 }, "extra: unknown key"],
    [
      { jobs: [job({ clusterName: "-x" })] },
      'jobs[0].clusterName: must match ^[a-zA-Z0-9][a-zA-Z0-9-]*$ (got "-x")',
    ],
    [
      { jobs: [job({ script: [] })] },
      "jobs[0].script: Too small: expected array to have >=1 items (got [])",
    ],
    [
      {
        jobs: [
          job({
            script: [
              { afterSeconds: 5, status: "A" },
              { afterSeconds: 5, status: "B" },
            ],
          }),
        ],
      },
      "jobs[0].script[1].afterSeconds: must be later than the previous step's 5 (got 5)",
    ],
    [{ jobs: [job(), job()] }, `jobs[1].id: duplicate job id (got "${JOB}")`],
    [{ jobs: [{ clusterName: "C", id: JOB, script: [] }] }, "jobs[0].groupId: is required"],
    [
      { clusters: [{ groupId: GROUP, name: "C", kind: "serverless" }] },
      'clusters[0].kind: Invalid option: expected one of "tenant"|"flex"|"dedicated" (got "serverless")',
    ],
    [
      {
        clusters: [{ groupId: GROUP, name: "C", kind: "dedicated" }],
        jobs: [{ ...job(), clusterName: "C", deliveryType: "DOWNLOAD" }],
      },
      'jobs[0].deliveryType: must be one of automated, download, pointInTime on this cluster (got "DOWNLOAD")',
    ],
    [
      { jobs: [{ ...job(), deliveryType: "download" }] },
      'jobs[0].deliveryType: must be one of RESTORE, DOWNLOAD on this cluster (got "download")',
    ],
    [
      { clusters: [{ groupId: GROUP, name: "C", kind: "flex", providerName: "AWS" }] },
      'clusters[0].providerName: only a dedicated cluster has a providerName (got "AWS")',
    ],
    [
      { clusters: [{ groupId: GROUP, name: "C", kind: "flex", convertedToFlexAfterSeconds: 3 }] },
      "clusters[0].convertedToFlexAfterSeconds: only a tenant cluster can be converted to flex (got 3)",
    ],
    [
      { tenant: { sunset: "2026-01-22T00:00:00Z", sunsetAfterSeconds: 3 } },
      "tenant.sunsetAfterSeconds: give either sunset or sunsetAfterSeconds, not both (got 3)",
    ],
    [
      { tenant: { sunset: "January 2026" } },
      'tenant.sunset: must be an ISO-8601 date such as 2026-01-22T00:00:00Z (got "January 2026")',
    ],
    [
      { digest: { algorithm: "SHA-1" } },
      'digest.algorithm: Invalid option: expected one of "MD5"|"SHA-256" (got "SHA-1")',
    ],
    [{ faults: [{ kind: "reset", match: { job: "x" } }] }, "faults[0].match.job: unknown key"],
    [
      { faults: [{ kind: "reset", afterSeconds: 5, untilSeconds: 5 }] },
      "faults[0].untilSeconds: must be later than afterSeconds (5) (got 5)",
    ],
  ])("refuses %j", (input, message) => {
    expect(problems(input)).toContain(message);
  });

  it("accepts every documented key", () => {
    const s = parseScenario(
      baseScenario({
        tokenTtlSeconds: 60,
        digest: { algorithm: "SHA-256", nonceTtlSeconds: 30 },
        tenant: { sunset: null, deprecation: "2024-11-13T00:00:00Z" },
        rateLimit: { capacity: 100, refillPerMinute: 100 },
        faults: [{ kind: "huge_body", sizeBytes: 10, afterSeconds: 1, untilSeconds: 2, times: 1 }],
      }),
    );
    expect([s.digest.algorithm, s.rateLimit.capacity, s.faults.length, s.jobs.length]).toEqual([
      "SHA-256",
      100,
      1,
      3,
    ]);
  });
});

describe("loadScenarioFile", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sim-scenario-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads YAML and JSON", async () => {
    const yamlFile = join(dir, "s.yaml");
    await writeFile(
      yamlFile,
      `jobs:\n  - { groupId: "${GROUP}", clusterName: C0, id: "${JOB}", script: [{ afterSeconds: 0, status: RUNNING }] }\n`,
    );
    const jsonFile = join(dir, "s.json");
    await writeFile(jsonFile, JSON.stringify({ jobs: [job()] }));
    expect((await loadScenarioFile(yamlFile)).jobs[0]?.clusterName).toBe("C0");
    expect((await loadScenarioFile(jsonFile)).jobs[0]?.clusterName).toBe("Cluster0");
  });

  it("names the file and the problem for unreadable or invalid files", async () => {
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "jobs: [\n");
    const invalid = join(dir, "invalid.yaml");
    await writeFile(invalid, "tokenTtlSeconds: -1\n");
    await expect(loadScenarioFile(join(dir, "missing.yaml"))).rejects.toThrow(
      /missing\.yaml: cannot read the file \(ENOENT\)/,
    );
    await expect(loadScenarioFile(bad)).rejects.toThrow(/bad\.yaml: not valid YAML/);
    await expect(loadScenarioFile(invalid)).rejects.toThrow(
      /invalid\.yaml: tokenTtlSeconds: .* \(got -1\)/,
    );
  });
});

describe("config/scenarios/demo.yaml", () => {
  it("plays what the demo promises: a project of Flex clusters and a dedicated one, one appearing, history, a 429, the sunset", async () => {
    const scenario = await loadScenarioFile("config/scenarios/demo.yaml");
    const sim = await startSimulator({ scenario, clock: "manual", startTime: 0 });
    try {
      const key = scenario.serviceAccounts[0];
      const tokenAnswer = await send(`${sim.url}/api/oauth/token`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from(`${key?.clientId}:${key?.clientSecret}`).toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "grant_type=client_credentials",
      });
      const token = String(json(tokenAnswer)["access_token"]);
      const get = (path: string, accept: string) =>
        send(`${sim.url}${path}`, { headers: { authorization: `Bearer ${token}`, accept } });
      const flex = async () => {
        const out: Record<string, unknown> = {};
        for (const j of scenario.jobs) {
          const a = await get(
            `/api/atlas/v2/groups/${j.groupId}/flexClusters/${j.clusterName}/backup/restoreJobs/${j.id}`,
            MEDIA_TYPES.flex,
          );
          out[j.id.slice(-2)] = a.status === 200 ? json(a)["status"] : a.status;
        }
        return out;
      };
      const project = "32b6e34b3d91647abb20e7b8";
      const tenant22 = async () => {
        const a = await get(
          `/api/atlas/v2/groups/${project}/clusters/Cluster0/backup/tenant/restores/6a793f81d2c4a03c5e4b1f22`,
          MEDIA_TYPES.tenant,
        );
        return a.status === 200 ? json(a)["status"] : a.status;
      };
      const clusters = async () =>
        json<{ results: { name: string }[] }>(
          await get(
            `/api/atlas/v2/groups/${project}/flexClusters`,
            LISTING_MEDIA_TYPES.flexClusters,
          ),
        ).results.map((c) => c.name);

      expect(await flex()).toEqual({
        "30": "PENDING",
        "31": 404,
        "01": "COMPLETED",
        "02": "FAILED",
        "32": 404,
        // Prod0 is a dedicated cluster: Atlas refuses the Flex API for it.
        "40": 400,
        // The 429 is used up by this first request for job 22, whatever its family.
        "22": 429,
      });
      expect(await clusters()).toEqual(["Flex0"]);
      expect(await tenant22()).toBe("QUEUED");
      sim.advance(20);
      expect(await flex()).toMatchObject({ "30": "RUNNING", "31": "RUNNING", "32": "QUEUED" });
      expect(await clusters()).toEqual(["Flex0", "Flex1"]);
      expect(await tenant22()).toBe("RUNNING");
      sim.advance(20);
      expect(await clusters()).toEqual(["Flex0", "Flex1", "Cluster0"]);
      expect(await tenant22()).toBe(410);
      expect(await flex()).toMatchObject({ "30": "COMPLETED", "31": "FAILED", "22": "RUNNING" });
      sim.advance(10);
      expect(await flex()).toEqual({
        "30": "COMPLETED",
        "31": "FAILED",
        "01": "COMPLETED",
        "02": "FAILED",
        "32": "COMPLETED",
        "40": 400,
        "22": "COMPLETED",
      });
    } finally {
      await sim.close();
    }
  });
});
