/**
 * The discovery listings: an organization's projects and a project's Flex clusters, paged as
 * Atlas pages them, appearing and disappearing on simulator time, with faults, and every body
 * validated against the official schemas (the discovery OpenAPI extract in test/fixtures).
 */
import { readFileSync } from "node:fs";
import type { ValidateFunction } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  LISTING_MEDIA_TYPES,
  MEDIA_TYPES,
  flexClustersPath,
  orgProjectsPath,
} from "../../src/atlas/endpoints.js";
import type { Simulator } from "../../src/simulator/index.js";
import { GROUP, baseScenario, fetchToken, json, send, start, type Answer } from "./helpers.js";
import { openApiSchemas } from "./openapi-schemas.js";

const spec: unknown = JSON.parse(
  readFileSync("test/fixtures/atlas-discovery-openapi.json", "utf8"),
);
const schema = openApiSchemas(spec as object);

const SCHEMAS = {
  projects: schema("PaginatedAtlasGroupView"),
  flexClusters: schema("PaginatedFlexClusters20241113"),
  error: schema("ApiError"),
};

function expectValid(validate: ValidateFunction, answer: Answer, what: string): void {
  const ok = validate(JSON.parse(answer.text));
  expect(ok ? [] : validate.errors, `${what}: ${answer.text}`).toEqual([]);
}

const ORG = "6a0000000000000000000001";
const OTHER_ORG = "6a0000000000000000000002";
const P2 = "6a0000000000000000000012";
const P3 = "6a0000000000000000000013";

let sim: Simulator;
let token: string;

beforeAll(async () => {
  sim = await start(
    baseScenario({
      projects: [
        { id: GROUP, orgId: ORG, name: "Payments" },
        { id: P2, orgId: ORG, createdAfterSeconds: 10, deletedAfterSeconds: 30 },
        { id: P3, orgId: OTHER_ORG },
      ],
      clusters: [
        { groupId: GROUP, name: "Cluster0", kind: "tenant", convertedToFlexAfterSeconds: 20 },
        { groupId: GROUP, name: "Flex0", kind: "flex" },
        {
          groupId: GROUP,
          name: "Flex1",
          kind: "flex",
          createdAfterSeconds: 5,
          deletedAfterSeconds: 15,
        },
      ],
      jobs: [],
    }),
  );
  token = await fetchToken(sim);
});

afterAll(async () => {
  await sim.close();
});

function get(path: string, accept: string): Promise<Answer> {
  return send(`${sim.url}${path}`, { headers: { authorization: `Bearer ${token}`, accept } });
}

const projects = (orgId: string, query = "") =>
  get(`${orgProjectsPath(orgId)}${query}`, LISTING_MEDIA_TYPES.projects);
const clusters = (groupId: string, query = "") =>
  get(`${flexClustersPath(groupId)}${query}`, LISTING_MEDIA_TYPES.flexClusters);
const ids = (answer: Answer) =>
  json<{ results: { id: string }[] }>(answer).results.map((r) => r.id);
const names = (answer: Answer) =>
  json<{ results: { name: string }[] }>(answer).results.map((r) => r.name);

describe("the discovery listings", () => {
  it("list an organization's projects and a project's Flex clusters as they come and go", async () => {
    expect(ids(await projects(ORG))).toEqual([GROUP]);
    expect(names(await clusters(GROUP))).toEqual(["Flex0"]);
    sim.advance(10); // t=10: P2 exists, Flex1 exists
    expect(ids(await projects(ORG))).toEqual([GROUP, P2]);
    expect(names(await clusters(GROUP))).toEqual(["Flex0", "Flex1"]);
    sim.advance(10); // t=20: Flex1 deleted, Cluster0 became Flex
    expect(names(await clusters(GROUP))).toEqual(["Cluster0", "Flex0"]);
    expect(json(await projects(ORG))["totalCount"]).toBe(2);
    sim.advance(10); // t=30: P2 deleted
    expect(ids(await projects(ORG))).toEqual([GROUP]);
    expect(ids(await projects(OTHER_ORG))).toEqual([P3]);
  });

  it("match the official schemas, with paging, and Atlas's media types", async () => {
    for (const query of [
      "",
      "?itemsPerPage=1",
      "?itemsPerPage=1&pageNum=2",
      "?includeCount=false",
    ]) {
      const p = await projects(ORG, query);
      expect(p.status).toBe(200);
      expect(p.headers["content-type"]).toBe(`${LISTING_MEDIA_TYPES.projects};charset=utf-8`);
      expectValid(SCHEMAS.projects, p, `projects ${query}`);
      const c = await clusters(GROUP, query);
      expect(c.status).toBe(200);
      expectValid(SCHEMAS.flexClusters, c, `clusters ${query}`);
    }
    const paged = await clusters(GROUP, "?itemsPerPage=1");
    expect(json<{ links: { rel: string }[] }>(paged).links.map((l) => l.rel)).toEqual([
      "self",
      "next",
    ]);
    const cluster = json<{ results: Record<string, unknown>[] }>(await clusters(GROUP)).results[0];
    expect(cluster).toMatchObject({
      groupId: GROUP,
      name: "Cluster0",
      providerSettings: { providerName: "FLEX" },
    });
    expect(SCHEMAS.projects({ results: [{ id: "nothex" }] })).toBe(false);
  });

  it("answer 404 for an unknown organization or project, 400 for a bad id, 406 without the version", async () => {
    const cases: [number, string, Answer][] = [
      [404, "ORG_NOT_FOUND", await projects("ffffffffffffffffffffffff")],
      [404, "GROUP_NOT_FOUND", await clusters("ffffffffffffffffffffffff")],
      [404, "GROUP_NOT_FOUND", await clusters(P2)],
      [400, "VALIDATION_ERROR", await projects("nothex")],
      [400, "INVALID_PARAMETER", await clusters(GROUP, "?itemsPerPage=501")],
      [406, "INVALID_VERSION_DATE", await get(flexClustersPath(GROUP), MEDIA_TYPES.tenant)],
      [
        401,
        "UNEXPECTED_ERROR",
        await send(`${sim.url}${orgProjectsPath(ORG)}`, {
          headers: { accept: LISTING_MEDIA_TYPES.projects },
        }),
      ],
    ];
    for (const [status, errorCode, answer] of cases) {
      expect([answer.status, json(answer)["errorCode"]]).toEqual([status, errorCode]);
      expectValid(SCHEMAS.error, answer, `HTTP ${status}`);
    }
  });

  it("take faults matched by listing and owner, and count requests by route", async () => {
    sim.resetStats();
    sim.addFault({ kind: "server_error", times: 1, match: { api: "groups", orgId: ORG } });
    sim.addFault({ kind: "not_found", times: 1, match: { api: "flexClusters", groupId: GROUP } });
    expect((await projects(OTHER_ORG)).status).toBe(200);
    expect((await projects(ORG)).status).toBe(500);
    expect((await projects(ORG)).status).toBe(200);
    expect((await clusters(GROUP)).status).toBe(404);
    expect((await clusters(GROUP)).status).toBe(200);
    // A fault without `api` hits restore jobs only, never a listing.
    sim.addFault({ kind: "server_error", times: 1 });
    expect((await clusters(GROUP)).status).toBe(200);
    sim.clearFaults();
    expect(sim.stats().byRoute).toEqual({ "groups.list": 3, "flexClusters.list": 3 });
  });
});
