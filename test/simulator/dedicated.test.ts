/**
 * The dedicated family in the simulator: GET one and LIST of a dedicated cluster's restore jobs
 * and a project's clusters list, with the real body shape (flags, no status, a download that
 * gets deliveryUrl and expiresAt but no finishedAt, targetDeploymentItemName), each body
 * validated against the official schemas (test/fixtures/atlas-dedicated-openapi.json).
 */
import { readFileSync } from "node:fs";
import type { ValidateFunction } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeClusterSummary, dedicatedClusterNames } from "../../src/atlas/decode-clusters.js";
import { CLUSTERS_MEDIA_TYPE, clustersPath } from "../../src/atlas/endpoints.js";
import type { Simulator } from "../../src/simulator/index.js";
import {
  GROUP,
  apiGet,
  baseScenario,
  fetchToken,
  jobUrl,
  json,
  send,
  start,
  type Answer,
} from "./helpers.js";
import { openApiSchemas } from "./openapi-schemas.js";

interface Spec {
  components: { schemas: Record<string, Record<string, unknown>> };
}
const spec = JSON.parse(readFileSync("test/fixtures/atlas-dedicated-openapi.json", "utf8")) as Spec;
// CloudRegionConfig20240805 is a discriminated oneOf whose branches extend it through allOf: a
// validator without discriminator support loops on it. The cycle is cut here (nothing else is
// changed) and each region is checked below against the branch its providerName names.
const regionBase = spec.components.schemas["CloudRegionConfig20240805"] ?? {};
delete regionBase["oneOf"];
delete regionBase["discriminator"];
// Two more quirks of the generated spec that no real answer can satisfy: `regionName` is typed
// `object` around a oneOf of string enums, and the hardware specs are a oneOf of AWS, Azure and
// GCP shapes that overlap (every M10 spec matches all three). Read as the union they describe.
const regionName = (regionBase["properties"] as Record<string, Record<string, unknown>>)[
  "regionName"
];
if (regionName) {
  delete regionName["type"];
  regionName["anyOf"] = regionName["oneOf"];
  delete regionName["oneOf"];
}
for (const name of ["HardwareSpec20240805", "DedicatedHardwareSpec20240805"]) {
  const hardware = spec.components.schemas[name] ?? {};
  hardware["anyOf"] = hardware["oneOf"];
  delete hardware["oneOf"];
}
const schema = openApiSchemas(spec);

const SCHEMAS = {
  job: schema("DiskBackupSnapshotRestoreJob"),
  jobs: schema("PaginatedCloudBackupRestoreJobView"),
  clusters: schema("PaginatedClusterDescription20240805"),
  error: schema("ApiError"),
};
const REGION_SCHEMAS: Record<string, ValidateFunction> = {
  AWS: schema("AWSRegionConfig20240805"),
  GCP: schema("GCPRegionConfig20240805"),
  TENANT: schema("TenantRegionConfig20240805"),
};

function expectValid(validate: ValidateFunction, body: unknown, what: string): void {
  const ok = validate(body);
  expect(ok ? [] : validate.errors, `${what}: ${JSON.stringify(body)}`).toEqual([]);
}

const AUTOMATED = "6a793f81d2c4a03c5e4b1fd1";
const DOWNLOAD = "6a793f81d2c4a03c5e4b1fd2";
const FAILING = "6a793f81d2c4a03c5e4b1fd3";
const CANCELLED = "6a793f81d2c4a03c5e4b1fd4";
const EXPIRING = "6a793f81d2c4a03c5e4b1fd5";
const PIT = "6a793f81d2c4a03c5e4b1fd6";
const DEDICATED = { groupId: GROUP, clusterName: "Prod0" };

let sim: Simulator;
let token: string;
beforeAll(async () => {
  const base = baseScenario();
  const job = (id: string, deliveryType: string, last: string, extra = {}) => ({
    ...DEDICATED,
    id,
    deliveryType: deliveryType as "automated",
    script: [
      { afterSeconds: 0, status: "RUNNING" },
      { afterSeconds: 240, status: last },
    ],
    ...extra,
  });
  sim = await start({
    ...base,
    clusters: [
      ...(base.clusters ?? []),
      { groupId: GROUP, name: "Prod0", kind: "dedicated" },
      { groupId: GROUP, name: "Analytics", kind: "dedicated", providerName: "GCP" },
    ],
    jobs: [
      ...(base.jobs ?? []),
      job(AUTOMATED, "automated", "COMPLETED", { targetDeploymentItemName: "Staging0" }),
      job(DOWNLOAD, "download", "COMPLETED"),
      job(FAILING, "automated", "FAILED"),
      job(CANCELLED, "download", "CANCELLED"),
      job(EXPIRING, "download", "EXPIRED"),
      job(PIT, "pointInTime", "COMPLETED"),
    ],
  });
  token = await fetchToken(sim);
});
afterAll(async () => {
  await sim.close();
});

const get = (restoreId: string): Promise<Answer> =>
  apiGet(jobUrl(sim, "dedicated", { ...DEDICATED, restoreId }), "dedicated", token);

describe("dedicated restore jobs", () => {
  it("GET one: flags, no status; each job's body follows its script and the schema", async () => {
    const before = await get(AUTOMATED);
    expect(before.status).toBe(200);
    expect(before.headers["content-type"]).toBe(
      "application/vnd.atlas.2023-01-01+json;charset=utf-8",
    );
    expect(json(before)).toEqual({
      cancelled: false,
      deliveryType: "automated",
      deliveryUrl: [],
      expired: false,
      failed: false,
      id: AUTOMATED,
      links: [
        { href: jobUrl(sim, "dedicated", { ...DEDICATED, restoreId: AUTOMATED }), rel: "self" },
      ],
      snapshotId: expect.stringMatching(/^[a-f0-9]{24}$/) as unknown,
      targetClusterName: "Staging0",
      targetDeploymentItemName: "Staging0",
      targetGroupId: GROUP,
      timestamp: "2025-06-01T11:55:00Z",
    });
    sim.advance(240);
    const bodies = new Map<string, Record<string, unknown>>();
    for (const id of [AUTOMATED, DOWNLOAD, FAILING, CANCELLED, EXPIRING, PIT]) {
      const body = json(await get(id));
      expectValid(SCHEMAS.job, body, id);
      expect(body).not.toHaveProperty("status");
      bodies.set(id, body);
    }
    expect(bodies.get(AUTOMATED)?.["finishedAt"]).toBe("2025-06-01T12:04:00Z");
    const download = bodies.get(DOWNLOAD) ?? {};
    expect(download["deliveryUrl"]).toEqual([
      `${sim.url}/backup/restore/v2/pull/${DOWNLOAD}/snapshot.tar.gz`,
    ]);
    expect(download["expiresAt"]).toBe("2025-06-01T13:04:00Z");
    expect(download).not.toHaveProperty("finishedAt");
    expect(bodies.get(FAILING)?.["failed"]).toBe(true);
    expect(bodies.get(CANCELLED)?.["cancelled"]).toBe(true);
    expect(bodies.get(EXPIRING)?.["expired"]).toBe(true);
    expect(bodies.get(EXPIRING)?.["deliveryUrl"]).toEqual([]);
    expect(bodies.get(PIT)?.["pointInTimeUTCSeconds"]).toBe(
      Date.parse("2025-06-01T11:55:00Z") / 1000,
    );
  });

  it("LIST: paged like every Atlas list, each item the same body", async () => {
    const first = await apiGet(
      `${jobUrl(sim, "dedicated", DEDICATED)}?pageNum=1&itemsPerPage=4`,
      "dedicated",
      token,
    );
    expect(first.status).toBe(200);
    const page = json<{ results: { id: string }[]; totalCount: number; links: { rel: string }[] }>(
      first,
    );
    expectValid(SCHEMAS.jobs, page, "page 1");
    expect(page.results.map((job) => job.id)).toEqual([AUTOMATED, DOWNLOAD, FAILING, CANCELLED]);
    expect(page.totalCount).toBe(6);
    expect(page.links.map((link) => link.rel)).toEqual(["self", "next"]);
    for (const item of page.results) expectValid(SCHEMAS.job, item, item.id);
    const second = json<{ results: { id: string }[] }>(
      await apiGet(
        `${jobUrl(sim, "dedicated", DEDICATED)}?pageNum=2&itemsPerPage=4`,
        "dedicated",
        token,
      ),
    );
    expect(second.results.map((job) => job.id)).toEqual([EXPIRING, PIT]);
    expect(sim.stats().byRoute["dedicated.list"]).toBe(2);
  });

  it.each<[string, () => string, string, number, string]>([
    [
      "a Flex cluster on the dedicated path",
      () => jobUrl(sim, "dedicated", { groupId: GROUP, clusterName: "Flex0" }),
      "dedicated",
      400,
      "CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API",
    ],
    [
      "a dedicated cluster on the Flex path",
      () => jobUrl(sim, "flex", DEDICATED),
      "flex",
      400,
      "CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API",
    ],
    [
      "an unknown job",
      () => jobUrl(sim, "dedicated", { ...DEDICATED, restoreId: "6a793f81d2c4a03c5e4b1fff" }),
      "dedicated",
      404,
      "RESOURCE_NOT_FOUND",
    ],
  ])("%s: %s %i %s", async (_name, url, api, status, errorCode) => {
    const answer = await apiGet(url(), api as "dedicated", token);
    expect(answer.status).toBe(status);
    expectValid(SCHEMAS.error, JSON.parse(answer.text), errorCode);
    expect(json(answer)["errorCode"]).toBe(errorCode);
  });

  it("wants the 2023-01-01 media type", async () => {
    const answer = await apiGet(jobUrl(sim, "dedicated", DEDICATED), "dedicated", token, {
      accept: "application/vnd.atlas.2024-11-13+json",
    });
    expect(answer.status).toBe(406);
  });
});

describe("a project's clusters list", () => {
  it("lists dedicated clusters by provider and a shared-tier one as TENANT, never Flex", async () => {
    const answer = await send(`${sim.url}${clustersPath(GROUP)}`, {
      headers: { authorization: `Bearer ${token}`, accept: CLUSTERS_MEDIA_TYPE },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe(`${CLUSTERS_MEDIA_TYPE};charset=utf-8`);
    const body = json<{
      results: {
        name: string;
        replicationSpecs: { regionConfigs: { providerName: string }[] }[];
      }[];
      totalCount: number;
    }>(answer);
    expectValid(SCHEMAS.clusters, body, "clusters");
    const providers = body.results.map((cluster) => [
      cluster.name,
      cluster.replicationSpecs.flatMap((spec) => spec.regionConfigs.map((r) => r.providerName)),
    ]);
    expect(providers).toEqual([
      ["Cluster0", ["TENANT"]],
      ["Prod0", ["AWS"]],
      ["Analytics", ["GCP"]],
    ]);
    expect(body.totalCount).toBe(3);
    for (const cluster of body.results) {
      for (const region of cluster.replicationSpecs.flatMap((spec) => spec.regionConfigs)) {
        const validate = REGION_SCHEMAS[region.providerName];
        if (!validate) throw new Error(`no schema for ${region.providerName}`);
        expectValid(validate, region, `${cluster.name} region`);
      }
    }
    // What discovery makes of it: the two dedicated clusters, the shared-tier one set aside.
    const summaries = body.results.map((cluster) => {
      const decoded = decodeClusterSummary(cluster);
      if (!decoded.ok) throw new Error(decoded.problems.join("; "));
      return decoded.value;
    });
    expect(dedicatedClusterNames(summaries, ["Flex0"])).toEqual(["Prod0", "Analytics"]);
    expect(sim.stats().byRoute["clusters.list"]).toBe(1);
  });

  it("answers 404 GROUP_NOT_FOUND for an unknown project and 406 for another version", async () => {
    const unknown = await send(`${sim.url}${clustersPath("5f0a1b2c3d4e5f6a7b8c9d0e")}`, {
      headers: { authorization: `Bearer ${token}`, accept: CLUSTERS_MEDIA_TYPE },
    });
    expect([unknown.status, json(unknown)["errorCode"]]).toEqual([404, "GROUP_NOT_FOUND"]);
    const old = await send(`${sim.url}${clustersPath(GROUP)}`, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: "application/vnd.atlas.2023-01-01+json",
      },
    });
    expect(old.status).toBe(406);
  });
});
