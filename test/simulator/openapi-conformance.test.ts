/**
 * Every answer of the simulator validated against the official Atlas schemas (the OpenAPI
 * extract in test/fixtures): 200 bodies of both families in every status, lists with paging, and
 * every error body.
 */
import { readFileSync } from "node:fs";
import type { ValidateFunction } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MEDIA_TYPES } from "../../src/atlas/endpoints.js";
import { KNOWN_STATUSES } from "../../src/atlas/model.js";
import type { Simulator } from "../../src/simulator/index.js";
import {
  GROUP,
  JOB,
  baseScenario,
  fetchToken,
  jobUrl,
  json,
  send,
  start,
  type Answer,
} from "./helpers.js";
import { openApiSchemas } from "./openapi-schemas.js";

const spec = JSON.parse(readFileSync("test/fixtures/atlas-restore-openapi.json", "utf8")) as {
  components: { responses: { gone: { content: { "application/json": { example: unknown } } } } };
};
const schema = openApiSchemas(spec);

const SCHEMAS = {
  tenantJob: schema("TenantRestore"),
  flexJob: schema("FlexBackupRestoreJob20241113"),
  tenantList: schema("PaginatedTenantRestoreView"),
  flexList: schema("PaginatedApiAtlasFlexBackupRestoreJob20241113View"),
  error: schema("ApiError"),
};

function expectValid(validate: ValidateFunction, answer: Answer, what: string): void {
  const body: unknown = JSON.parse(answer.text);
  const ok = validate(body);
  expect(ok ? [] : validate.errors, `${what}: ${answer.text}`).toEqual([]);
}

const script = [
  { afterSeconds: 0, status: "PENDING" },
  { afterSeconds: 10, status: "QUEUED" },
  { afterSeconds: 20, status: "RUNNING" },
  { afterSeconds: 30, status: "COMPLETED" },
];
const failing = [
  { afterSeconds: 0, status: "RUNNING" },
  { afterSeconds: 30, status: "FAILED" },
];
const ids = (prefix: string) => [0, 1, 2, 3].map((i) => `${prefix}${"0".repeat(21)}${i}`);
const TENANT_IDS = ids("aa");
const FLEX_IDS = ids("bb");

let sim: Simulator;
let token: string;
beforeAll(async () => {
  const jobs = (cluster: string, [a, b, c, d]: string[]) => [
    { groupId: GROUP, clusterName: cluster, id: a ?? "", script },
    {
      groupId: GROUP,
      clusterName: cluster,
      id: b ?? "",
      deliveryType: "DOWNLOAD" as const,
      script,
    },
    { groupId: GROUP, clusterName: cluster, id: c ?? "", script: failing },
    {
      groupId: GROUP,
      clusterName: cluster,
      id: d ?? "",
      deliveryType: "DOWNLOAD" as const,
      script: failing,
    },
  ];
  sim = await start(
    baseScenario({
      clusters: [
        { groupId: GROUP, name: "Cluster0", kind: "tenant" },
        { groupId: GROUP, name: "Flex0", kind: "flex" },
      ],
      jobs: [...jobs("Cluster0", TENANT_IDS), ...jobs("Flex0", FLEX_IDS)],
      rateLimit: { capacity: 1000, refillPerMinute: 0 },
    }),
  );
  token = await fetchToken(sim);
});
afterAll(async () => {
  await sim.close();
});

function get(url: string, api: "tenant" | "flex", accept: string = MEDIA_TYPES[api]) {
  return send(url, { headers: { authorization: `Bearer ${token}`, accept } });
}

describe("200 answers match the official schemas", () => {
  it("GET one and LIST, both families, every status, RESTORE and DOWNLOAD, with paging", async () => {
    const seen = new Set<string>();
    for (const step of [0, 10, 10, 10]) {
      sim.advance(step);
      for (const [api, clusterName, jobIds, jobSchema] of [
        ["tenant", "Cluster0", TENANT_IDS, SCHEMAS.tenantJob],
        ["flex", "Flex0", FLEX_IDS, SCHEMAS.flexJob],
      ] as const) {
        for (const restoreId of jobIds) {
          const answer = await get(
            jobUrl(sim, api, { groupId: GROUP, clusterName, restoreId }),
            api,
          );
          expect(answer.status).toBe(200);
          expectValid(jobSchema, answer, `${api} ${restoreId}`);
          const body = json(answer);
          seen.add(`${api}:${String(body["status"])}:${String(body["deliveryType"])}`);
        }
      }
      const list = jobUrl(sim, "tenant", { groupId: GROUP, clusterName: "Cluster0" });
      expectValid(SCHEMAS.tenantList, await get(list, "tenant"), "tenant list");
      const flexList = jobUrl(sim, "flex", { groupId: GROUP, clusterName: "Flex0" });
      for (const query of [
        "",
        "?itemsPerPage=3",
        "?itemsPerPage=3&pageNum=2",
        "?pageNum=9",
        "?includeCount=false",
      ]) {
        const answer = await get(`${flexList}${query}`, "flex");
        expect(answer.status).toBe(200);
        expectValid(SCHEMAS.flexList, answer, `flex list ${query}`);
      }
    }
    // Every status of the enum, each as RESTORE and as DOWNLOAD, on both families.
    const expected = ["tenant", "flex"].flatMap((api) =>
      KNOWN_STATUSES.flatMap((status) =>
        ["RESTORE", "DOWNLOAD"].map((d) => `${api}:${status}:${d}`),
      ),
    );
    expect([...seen].sort()).toEqual(expected.sort());
  });

  it("the schemas are strict enough to catch a bad body", () => {
    expect(SCHEMAS.tenantJob({ unexpected: true })).toBe(false);
    expect(SCHEMAS.flexJob({ id: JOB, status: "CLOSED" })).toBe(false);
    expect(SCHEMAS.error({ detail: "x" })).toBe(false);
  });
});

describe("error answers match ApiError", () => {
  it("for every error the API paths give", async () => {
    const tenantJob = jobUrl(sim, "tenant", {
      groupId: GROUP,
      clusterName: "Cluster0",
      restoreId: TENANT_IDS[0] ?? "",
    });
    const flexList = jobUrl(sim, "flex", { groupId: GROUP, clusterName: "Flex0" });
    const cases: [number, Promise<Answer>][] = [
      [
        400,
        get(
          `${sim.url}/api/atlas/v2/groups/nothex/clusters/Cluster0/backup/tenant/restores`,
          "tenant",
        ),
      ],
      [400, get(jobUrl(sim, "flex", { groupId: GROUP, clusterName: "Cluster0" }), "flex")],
      [400, get(`${flexList}?itemsPerPage=0`, "flex")],
      [401, send(tenantJob, { headers: { accept: MEDIA_TYPES.tenant } })],
      [
        404,
        get(
          jobUrl(sim, "tenant", { groupId: "ffffffffffffffffffffffff", clusterName: "C" }),
          "tenant",
        ),
      ],
      [404, get(jobUrl(sim, "tenant", { groupId: GROUP, clusterName: "Nope" }), "tenant")],
      [
        404,
        get(jobUrl(sim, "flex", { groupId: GROUP, clusterName: "Flex0", restoreId: JOB }), "flex"),
      ],
      [404, get(`${sim.url}/api/atlas/v2/nothing`, "tenant")],
      [405, send(tenantJob, { method: "DELETE", headers: { authorization: `Bearer ${token}` } })],
      [406, get(tenantJob, "tenant", "application/json")],
    ];
    for (const [status, pending] of cases) {
      const answer = await pending;
      expect(answer.status).toBe(status);
      expect(answer.headers["content-type"]).toBe("application/json");
      expectValid(SCHEMAS.error, answer, `HTTP ${status}`);
    }
    for (const kind of [
      "rate_limit",
      "server_error",
      "unavailable",
      "not_found",
      "gone",
      "unauthorized",
      "forbidden",
    ] as const) {
      sim.addFault({ kind, times: 1 });
      const answer = await get(tenantJob, "tenant");
      expectValid(SCHEMAS.error, answer, kind);
    }
  });

  it("410 after the sunset is the spec's own example, plus parameters", async () => {
    sim.setTenantSunset(sim.now());
    const answer = await get(
      jobUrl(sim, "tenant", { groupId: GROUP, clusterName: "Cluster0" }),
      "tenant",
    );
    sim.setTenantSunset(null);
    expectValid(SCHEMAS.error, answer, "gone");
    expect(json(answer)).toEqual({
      ...(spec.components.responses.gone.content["application/json"].example as object),
      parameters: [],
    });
  });
});
