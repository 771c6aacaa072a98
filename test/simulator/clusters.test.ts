import { afterEach, describe, expect, it } from "vitest";
import { MEDIA_TYPES } from "../../src/atlas/endpoints.js";
import type { Simulator } from "../../src/simulator/index.js";
import {
  FLEX_REF,
  GROUP,
  JOB,
  OTHER_GROUP,
  TENANT_REF,
  apiGet,
  baseScenario,
  fetchToken,
  jobUrl,
  json,
  send,
  start,
} from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const LEGACY_JOB = "6a793f81d2c4a03c5e4b1f40";
const REJECT_JOB = "6a793f81d2c4a03c5e4b1f50";

function conversionScenario() {
  const script = [{ afterSeconds: 0, status: "RUNNING" }];
  return baseScenario({
    clusters: [
      { groupId: GROUP, name: "Cluster0", kind: "tenant" },
      { groupId: GROUP, name: "Legacy1", kind: "tenant", convertedToFlexAfterSeconds: 20 },
      { groupId: GROUP, name: "Flex0", kind: "flex" },
      { groupId: GROUP, name: "Strict0", kind: "flex", tenantApi: "reject" },
    ],
    jobs: [
      { groupId: GROUP, clusterName: "Cluster0", id: JOB, script },
      { groupId: GROUP, clusterName: "Legacy1", id: LEGACY_JOB, script },
      { groupId: GROUP, clusterName: "Flex0", id: FLEX_REF.restoreId, script },
      { groupId: GROUP, clusterName: "Strict0", id: REJECT_JOB, script },
    ],
  });
}

async function statusAndCode(url: string, api: "tenant" | "flex", token: string) {
  const answer = await apiGet(url, api, token);
  return answer.status === 200
    ? [200, json(answer)["id"]]
    : [answer.status, json(answer)["errorCode"]];
}

describe("cluster kinds", () => {
  it("answers each family by the cluster's kind at the simulator's time", async () => {
    sim = await start(conversionScenario());
    const token = await fetchToken(sim);
    const s = sim;
    const legacy = { groupId: GROUP, clusterName: "Legacy1", restoreId: LEGACY_JOB };
    const strict = { groupId: GROUP, clusterName: "Strict0", restoreId: REJECT_JOB };
    const table = async () => [
      await statusAndCode(jobUrl(s, "tenant", TENANT_REF), "tenant", token),
      await statusAndCode(jobUrl(s, "flex", TENANT_REF), "flex", token),
      await statusAndCode(jobUrl(s, "tenant", legacy), "tenant", token),
      await statusAndCode(jobUrl(s, "flex", legacy), "flex", token),
      await statusAndCode(jobUrl(s, "tenant", FLEX_REF), "tenant", token),
      await statusAndCode(jobUrl(s, "flex", FLEX_REF), "flex", token),
      await statusAndCode(jobUrl(s, "tenant", strict), "tenant", token),
      await statusAndCode(jobUrl(s, "flex", strict), "flex", token),
    ];
    expect(await table()).toEqual([
      [200, JOB],
      [400, "CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API"],
      [200, LEGACY_JOB],
      [400, "CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API"],
      [200, FLEX_REF.restoreId],
      [200, FLEX_REF.restoreId],
      [400, "CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API"],
      [200, REJECT_JOB],
    ]);
    sim.advance(20);
    expect(await table()).toEqual([
      [200, JOB],
      [400, "CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API"],
      [200, LEGACY_JOB],
      [200, LEGACY_JOB],
      [200, FLEX_REF.restoreId],
      [200, FLEX_REF.restoreId],
      [400, "CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API"],
      [200, REJECT_JOB],
    ]);
  });

  it("creates clusters that only jobs mention as tenant clusters", async () => {
    sim = await start(
      baseScenario({
        clusters: [],
        jobs: [
          {
            groupId: GROUP,
            clusterName: "Implicit0",
            id: JOB,
            script: [{ afterSeconds: 0, status: "QUEUED" }],
          },
        ],
      }),
    );
    const token = await fetchToken(sim);
    const ref = { groupId: GROUP, clusterName: "Implicit0", restoreId: JOB };
    expect(await statusAndCode(jobUrl(sim, "tenant", ref), "tenant", token)).toEqual([200, JOB]);
    expect(await statusAndCode(jobUrl(sim, "flex", ref), "flex", token)).toEqual([
      400,
      "CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API",
    ]);
  });
});

describe("the tenant sunset", () => {
  it("answers 410 VERSION_GONE on every tenant path from sunsetAfterSeconds on, flex unaffected", async () => {
    sim = await start(
      baseScenario({ tenant: { sunsetAfterSeconds: 60, deprecation: "2024-11-13T00:00:00Z" } }),
    );
    const token = await fetchToken(sim);
    const before = await apiGet(jobUrl(sim, "tenant", TENANT_REF), "tenant", token);
    expect(before.status).toBe(200);
    expect(before.headers["sunset"]).toBe("Sun, 01 Jun 2025 12:01:00 GMT");
    expect(before.headers["deprecation"]).toBe("Wed, 13 Nov 2024 00:00:00 GMT");
    sim.advance(60);
    const one = await apiGet(jobUrl(sim, "tenant", TENANT_REF), "tenant", token);
    const list = await apiGet(
      jobUrl(sim, "tenant", { groupId: GROUP, clusterName: "Cluster0" }),
      "tenant",
      token,
    );
    const unknown = await apiGet(
      jobUrl(sim, "tenant", { ...TENANT_REF, groupId: OTHER_GROUP }),
      "tenant",
      token,
    );
    for (const gone of [one, list, unknown]) {
      expect(gone.status).toBe(410);
      expect(json(gone)).toEqual({
        detail:
          "This happens when a resource is marked for sunset and the sunset date is in the past.",
        error: 410,
        errorCode: "VERSION_GONE",
        parameters: [],
        reason: "Gone",
      });
      expect(gone.headers["x-error-code"]).toBe("VERSION_GONE");
    }
    expect(one.headers["sunset"]).toBe("Sun, 01 Jun 2025 12:01:00 GMT");
    const flex = await apiGet(jobUrl(sim, "flex", FLEX_REF), "flex", token);
    expect(flex.status).toBe(200);
    expect(flex.headers["sunset"]).toBeUndefined();
  });

  it("takes an absolute sunset, and setTenantSunset moves or removes it", async () => {
    sim = await start(baseScenario({ tenant: { sunset: "2025-06-01T12:00:10Z" } }));
    const token = await fetchToken(sim);
    const url = jobUrl(sim, "tenant", TENANT_REF);
    expect((await apiGet(url, "tenant", token)).status).toBe(200);
    sim.advance(10);
    expect((await apiGet(url, "tenant", token)).status).toBe(410);
    sim.setTenantSunset(null);
    const open = await apiGet(url, "tenant", token);
    expect([open.status, open.headers["sunset"]]).toEqual([200, undefined]);
    sim.setTenantSunset("2025-06-01T12:00:11Z");
    expect((await apiGet(url, "tenant", token)).headers["sunset"]).toBe(
      "Sun, 01 Jun 2025 12:00:11 GMT",
    );
    sim.setTenantSunset(Date.parse("2025-06-01T12:00:05Z"));
    expect((await apiGet(url, "tenant", token)).status).toBe(410);
    expect(() => sim?.setTenantSunset("next tuesday")).toThrow(RangeError);
  });
});

describe("lookup errors", () => {
  it("names what is missing: group, cluster, job", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    const cases = [
      jobUrl(sim, "tenant", { ...TENANT_REF, groupId: OTHER_GROUP }),
      jobUrl(sim, "tenant", { ...TENANT_REF, clusterName: "Nope" }),
      jobUrl(sim, "tenant", { ...TENANT_REF, restoreId: "aaaaaaaaaaaaaaaaaaaaaaaa" }),
      jobUrl(sim, "flex", { ...FLEX_REF, clusterName: "Nope" }),
      jobUrl(sim, "flex", { ...FLEX_REF, restoreId: "aaaaaaaaaaaaaaaaaaaaaaaa" }),
    ];
    const seen = [];
    for (const url of cases) {
      const api = url.includes("flexClusters") ? "flex" : "tenant";
      const answer = await apiGet(url, api, token);
      seen.push([answer.status, json(answer)["errorCode"], answer.headers["x-error-code"]]);
      expect(answer.headers["content-type"]).toBe("application/json");
      expect(json(answer)["reason"]).toBe("Not Found");
    }
    expect(seen).toEqual([
      [404, "GROUP_NOT_FOUND", "GROUP_NOT_FOUND"],
      [404, "CLUSTER_NOT_FOUND", "CLUSTER_NOT_FOUND"],
      [404, "RESOURCE_NOT_FOUND", "RESOURCE_NOT_FOUND"],
      [404, "CLUSTER_NOT_FOUND", "CLUSTER_NOT_FOUND"],
      [404, "RESOURCE_NOT_FOUND", "RESOURCE_NOT_FOUND"],
    ]);
  });

  it("rejects path parameters that break Atlas's patterns with 400", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    const base = `${sim.url}/api/atlas/v2/groups`;
    const cases: [string, "tenant" | "flex", string][] = [
      [`${base}/NOTHEX/clusters/Cluster0/backup/tenant/restores/${JOB}`, "tenant", "groupId"],
      [`${base}/${GROUP}/clusters/-bad/backup/tenant/restores/${JOB}`, "tenant", "clusterName"],
      [`${base}/${GROUP}/clusters/Cluster0/backup/tenant/restores/123`, "tenant", "restoreId"],
      [`${base}/${GROUP}/flexClusters/bad_name/backup/restoreJobs`, "flex", "name"],
      [`${base}/${GROUP}/flexClusters/Flex0/backup/restoreJobs/ABCDEF`, "flex", "restoreJobId"],
    ];
    for (const [url, api, param] of cases) {
      const answer = await apiGet(url, api, token);
      expect(answer.status, url).toBe(400);
      expect(json(answer)["errorCode"]).toBe("VALIDATION_ERROR");
      expect(String(json(answer)["detail"])).toContain(param);
    }
  });

  it("answers unknown paths 404 and other methods 405, as ApiErrors", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    const unknown = await apiGet(
      `${sim.url}/api/atlas/v2/groups/${GROUP}/databaseUsers`,
      "tenant",
      token,
    );
    expect([unknown.status, json(unknown)["errorCode"], unknown.headers["x-error-code"]]).toEqual([
      404,
      "RESOURCE_NOT_FOUND",
      "RESOURCE_NOT_FOUND",
    ]);
    const post = await send(jobUrl(sim, "flex", { groupId: GROUP, clusterName: "Flex0" }), {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, accept: MEDIA_TYPES.flex },
    });
    expect([post.status, post.headers["allow"], json(post)["error"]]).toEqual([405, "GET", 405]);
    expect(sim.stats().byRoute).toEqual({ token: 1, other: 1, "flex.list": 1 });
  });
});
