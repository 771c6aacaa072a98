import type { Dispatcher } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AtlasDecodeError,
  AtlasHttpError,
  AtlasNetworkError,
  type AtlasError,
} from "../../src/atlas/errors.js";
import type { ApiFamily, JobRef } from "../../src/atlas/model.js";
import type { Credentials } from "../../src/config/settings.js";
import { FAULT_KINDS, type Fault, type Simulator } from "../../src/simulator/index.js";
import {
  API_KEY_CREDENTIALS,
  GROUP,
  SERVICE_ACCOUNT_CREDENTIALS,
  T0,
  clientFor,
  id,
  startSim,
  unresolvableAgent,
} from "../support/fixtures.js";

const TENANT: JobRef = { groupId: GROUP, clusterName: "Cluster0", restoreId: id(1) };
const FLEX: JobRef = { groupId: GROUP, clusterName: "Flex0", restoreId: id(2) };
const refs: Record<Exclude<ApiFamily, "dedicated">, JobRef> = { tenant: TENANT, flex: FLEX };

const script = [
  { afterSeconds: 0, status: "PENDING" },
  { afterSeconds: 5, status: "QUEUED" },
  { afterSeconds: 10, status: "RUNNING" },
  { afterSeconds: 63, status: "COMPLETED" },
];

let sim: Simulator;
const agents: Dispatcher[] = [];

beforeEach(async () => {
  sim = await startSim({
    clusters: [
      { groupId: GROUP, name: "Cluster0", kind: "tenant" },
      { groupId: GROUP, name: "Flex0", kind: "flex" },
    ],
    jobs: [
      {
        groupId: GROUP,
        clusterName: "Cluster0",
        id: id(1),
        snapshotId: id(100),
        targetProjectId: id(200),
        targetDeploymentItemName: "Cluster0-restore",
        script,
      },
      {
        groupId: GROUP,
        clusterName: "Flex0",
        id: id(2),
        deliveryType: "DOWNLOAD",
        snapshotId: id(101),
        targetProjectId: id(201),
        targetDeploymentItemName: "Flex0-copy",
        script,
      },
    ],
  });
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await sim.close();
});

function client(credentials: Credentials, timeouts?: Parameters<typeof clientFor>[2]) {
  const made = clientFor(sim, credentials, timeouts);
  agents.push(made.agent);
  return made;
}

async function failure(promise: Promise<unknown>): Promise<AtlasError> {
  try {
    await promise;
  } catch (error) {
    return error as AtlasError;
  }
  throw new Error("expected a failure");
}

describe.each([
  ["API key", API_KEY_CREDENTIALS],
  ["service account", SERVICE_ACCOUNT_CREDENTIALS],
] as const)("getRestoreJob with %s", (_name, credentials) => {
  it("decodes every field of a tenant job", async () => {
    const { client: atlas } = client(credentials);
    sim.advance(70);
    expect(await atlas.getRestoreJob("tenant", TENANT)).toEqual({
      id: id(1),
      status: "COMPLETED",
      rawStatus: "COMPLETED",
      clusterName: "Cluster0",
      deliveryType: "RESTORE",
      snapshotId: id(100),
      projectId: GROUP,
      targetProjectId: id(200),
      targetDeploymentItemName: "Cluster0-restore",
      snapshotFinishedDate: expect.stringMatching(/^2025-06-01T1\d:\d\d:\d\dZ$/),
      restoreScheduledDate: "2025-06-01T12:00:00Z",
      restoreFinishedDate: "2025-06-01T12:01:03Z",
    });
  });

  it("decodes every field of a flex DOWNLOAD job, instanceName as the cluster", async () => {
    const { client: atlas } = client(credentials);
    sim.advance(70);
    const job = await atlas.getRestoreJob("flex", FLEX);
    expect(job).toEqual({
      id: id(2),
      status: "COMPLETED",
      rawStatus: "COMPLETED",
      clusterName: "Flex0",
      deliveryType: "DOWNLOAD",
      snapshotId: id(101),
      snapshotUrl: expect.stringMatching(/^https?:\/\//),
      projectId: GROUP,
      targetProjectId: id(201),
      targetDeploymentItemName: "Flex0-copy",
      snapshotFinishedDate: expect.stringMatching(/^2025-06-01T/),
      restoreScheduledDate: "2025-06-01T12:00:00Z",
      restoreFinishedDate: "2025-06-01T12:01:03Z",
      expirationDate: expect.stringMatching(/^2025-06-/),
    });
  });

  it.each(["tenant", "flex"] as const)("follows the %s job's status over time", async (api) => {
    const { client: atlas } = client(credentials);
    const seen: string[] = [];
    for (const step of [0, 5, 10, 63]) {
      sim.advance(step - (sim.now() - T0) / 1000);
      seen.push((await atlas.getRestoreJob(api, refs[api])).status);
    }
    expect(seen).toEqual(["PENDING", "QUEUED", "RUNNING", "COMPLETED"]);
  });
});

describe("request economy", () => {
  it("polls 100 times with an API key in at most 101 requests", async () => {
    const { client: atlas } = client(API_KEY_CREDENTIALS);
    sim.resetStats();
    for (let i = 0; i < 100; i++) await atlas.getRestoreJob("tenant", TENANT);
    expect(sim.stats().requests).toBeLessThanOrEqual(101);
    expect(sim.stats().byStatus["200"]).toBe(100);
  });

  it("polls 100 times with an API key at concurrency 8 in at most 101 requests: one challenge", async () => {
    const { client: atlas } = client(API_KEY_CREDENTIALS);
    sim.resetStats();
    let next = 0;
    const worker = async () => {
      while (next < 100) {
        next++;
        await atlas.getRestoreJob("tenant", TENANT);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(sim.stats().byStatus).toEqual({ "200": 100, "401": 1 });
    expect(sim.stats().requests).toBe(101);
  });

  it("polls 100 times with a service account using one token", async () => {
    const { client: atlas } = client(SERVICE_ACCOUNT_CREDENTIALS);
    sim.resetStats();
    for (let i = 0; i < 100; i++) await atlas.getRestoreJob("flex", FLEX);
    expect(sim.stats().tokenRequests).toBe(1);
    expect(sim.stats().requests).toBe(101);
  });

  it("refreshes a revoked token past its first minute once and goes on", async () => {
    const { client: atlas } = client(SERVICE_ACCOUNT_CREDENTIALS);
    await atlas.getRestoreJob("flex", FLEX);
    sim.advance(60);
    sim.revokeAllTokens();
    expect((await atlas.getRestoreJob("flex", FLEX)).id).toBe(id(2));
    expect(sim.stats().tokenRequests).toBe(2);
  });

  it("answers a stale digest nonce once and goes on", async () => {
    const { client: atlas } = client(API_KEY_CREDENTIALS);
    await atlas.getRestoreJob("tenant", TENANT);
    sim.expireNonces();
    sim.resetStats();
    expect((await atlas.getRestoreJob("tenant", TENANT)).id).toBe(id(1));
    expect(sim.stats().byStatus).toEqual({ "200": 1, "401": 1 });
  });
});

describe("errors", () => {
  it("reports a wrong API key as HTTP 401 after one challenge", async () => {
    const { client: atlas } = client({
      kind: "apiKey",
      publicKey: "pubkeyabc",
      privateKey: "wrong",
    });
    const error = await failure(atlas.getRestoreJob("tenant", TENANT));
    expect(error).toBeInstanceOf(AtlasHttpError);
    expect(error).toMatchObject({ code: "ATLAS_HTTP_ERROR", status: 401, metricCode: "401" });
    expect(error.message).not.toContain("wrong");
  });

  it("reports a wrong service-account secret from the token endpoint", async () => {
    const { client: atlas } = client({
      kind: "serviceAccount",
      clientId: "mdb_sa_id_test0001",
      clientSecret: "nope-nope",
    });
    const error = await failure(atlas.getRestoreJob("flex", FLEX));
    expect(error).toMatchObject({
      code: "ATLAS_HTTP_ERROR",
      status: 401,
      operation: expect.stringMatching(/token/),
    });
    expect(error.message).not.toContain("nope-nope");
  });

  it("keeps Atlas's error body, Retry-After and RateLimit-Remaining", async () => {
    const { client: atlas } = client(API_KEY_CREDENTIALS);
    sim.addFault({ kind: "rate_limit", retryAfterSeconds: 7, times: 1 });
    const error = await failure(atlas.getRestoreJob("tenant", TENANT));
    expect(error).toMatchObject({
      code: "ATLAS_HTTP_ERROR",
      status: 429,
      errorCode: "RATE_LIMITED",
      reason: "Too Many Requests",
      retryAfterMs: 7000,
      rateLimitRemaining: expect.any(Number),
      kind: "http_429_RATE_LIMITED",
    });
  });

  const malformed: [string, Fault, string, Partial<AtlasError> & Record<string, unknown>][] = [
    [
      "a rate limit",
      { kind: "rate_limit", retryAfterSeconds: 2 },
      "ATLAS_HTTP_ERROR",
      { status: 429, errorCode: "RATE_LIMITED", retryAfterMs: 2000 },
    ],
    [
      "a refusal of the credentials",
      { kind: "unauthorized" },
      "ATLAS_HTTP_ERROR",
      { status: 401, metricCode: "401" },
    ],
    [
      "an address off the access list",
      { kind: "forbidden" },
      "ATLAS_HTTP_ERROR",
      {
        status: 403,
        errorCode: "IP_ADDRESS_NOT_ON_ACCESS_LIST",
        kind: "http_403_IP_ADDRESS_NOT_ON_ACCESS_LIST",
      },
    ],
    [
      "a missing cluster",
      { kind: "not_found" },
      "ATLAS_HTTP_ERROR",
      { status: 404, errorCode: "CLUSTER_NOT_FOUND" },
    ],
    [
      "a retired version",
      { kind: "gone" },
      "ATLAS_HTTP_ERROR",
      { status: 410, errorCode: "VERSION_GONE" },
    ],
    [
      "a server error",
      { kind: "server_error" },
      "ATLAS_HTTP_ERROR",
      { status: 500, metricCode: "500" },
    ],
    [
      "an outage",
      { kind: "unavailable", retryAfterSeconds: 3 },
      "ATLAS_HTTP_ERROR",
      { status: 503, retryAfterMs: 3000 },
    ],
    ["a reset connection", { kind: "reset" }, "ATLAS_NETWORK_ERROR", { metricCode: "network" }],
    [
      "a lying Content-Length",
      { kind: "lying_length" },
      "ATLAS_NETWORK_ERROR",
      { metricCode: "network" },
    ],
    [
      "headers that never come",
      // Headers that never come: the timeout fires, whatever the machine's load.
      { kind: "slow_headers" },
      "ATLAS_TIMEOUT",
      { phase: "headers", metricCode: "timeout" },
    ],
    [
      "a body that stalls half way",
      { kind: "slow_body" },
      "ATLAS_TIMEOUT",
      { phase: "body", metricCode: "timeout" },
    ],
    [
      "malformed JSON",
      { kind: "malformed_json" },
      "ATLAS_DECODE_ERROR",
      { problems: ["body is not valid JSON"] },
    ],
    [
      "an HTML page",
      { kind: "wrong_content_type" },
      "ATLAS_DECODE_ERROR",
      { problems: ['content type is "text/html; charset=utf-8", not JSON'] },
    ],
    ["another job's body", { kind: "wrong_id" }, "ATLAS_DECODE_ERROR", { metricCode: "decode" }],
    [
      "a body that is not a job",
      { kind: "invalid_body" },
      "ATLAS_DECODE_ERROR",
      { metricCode: "decode" },
    ],
    [
      "a huge body",
      { kind: "huge_body", sizeBytes: 4 * 1024 * 1024 },
      "ATLAS_DECODE_ERROR",
      { problems: ["response body exceeds the size limit"] },
    ],
  ];

  it("covers every fault the simulator can inject", () => {
    expect(new Set(malformed.map(([, fault]) => fault.kind))).toEqual(new Set(FAULT_KINDS));
  });

  it.each(malformed)("turns %s into a typed error", async (_name, fault, code, fields) => {
    // Wide enough that a normal answer never times out on two busy cores.
    const { client: atlas, observed } = client(API_KEY_CREDENTIALS, {
      connectMs: 2_000,
      headersMs: 2_000,
      bodyMs: 2_000,
    });
    await atlas.getRestoreJob("tenant", TENANT); // warm up: the digest challenge is answered
    sim.addFault({ ...fault, match: { restoreId: id(1) } });
    const error = await failure(atlas.getRestoreJob("tenant", TENANT));
    expect(error.code).toBe(code);
    expect(error).toMatchObject(fields);
    expect(error.message).toContain(
      `get tenant restore job /api/atlas/v2/groups/${GROUP}/clusters/Cluster0/`,
    );
    expect(observed.at(-1)?.code).toBe(error.metricCode);
    sim.clearFaults();
    expect((await atlas.getRestoreJob("tenant", TENANT)).id).toBe(id(1));
  });

  it("names the other job's id in a wrong-id error", async () => {
    const { client: atlas } = client(API_KEY_CREDENTIALS);
    sim.addFault({ kind: "wrong_id", match: { restoreId: id(1) } });
    const error = await failure(atlas.getRestoreJob("tenant", TENANT));
    expect((error as AtlasDecodeError).problems).toEqual([
      expect.stringMatching(new RegExp(`^id: is "[a-f0-9]{24}", expected "${id(1)}"$`)),
    ]);
  });

  it("keeps a status outside the enum as UNKNOWN with its raw value", async () => {
    await sim.close();
    sim = await startSim({
      jobs: [
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: id(1),
          script: [{ afterSeconds: 0, status: "CLOSED" }],
        },
      ],
    });
    const { client: atlas } = client(API_KEY_CREDENTIALS);
    expect(await atlas.getRestoreJob("tenant", TENANT)).toMatchObject({
      status: "UNKNOWN",
      rawStatus: "CLOSED",
    });
  });

  it("reports a host that does not resolve as a network error", async () => {
    const agent = unresolvableAgent();
    agents.push(agent);
    const { client: atlas } = clientFor(
      { ...sim, url: "http://atlas.invalid:1" } as Simulator,
      API_KEY_CREDENTIALS,
      undefined,
      agent,
    );
    const error = await failure(atlas.getRestoreJob("tenant", TENANT));
    expect(error).toBeInstanceOf(AtlasNetworkError);
    expect(error).toMatchObject({ causeCode: "ENOTFOUND", kind: "network_ENOTFOUND" });
    expect(error.message).toContain("the host name could not be resolved");
  });

  it("reports a refused connection as a network error", async () => {
    const closed = await startSim({});
    const url = closed.url;
    await closed.close();
    const { client: atlas } = clientFor({ ...sim, url } as Simulator, API_KEY_CREDENTIALS);
    const error = await failure(atlas.getRestoreJob("tenant", TENANT));
    expect(error).toMatchObject({
      code: "ATLAS_NETWORK_ERROR",
      causeCode: "ECONNREFUSED",
      metricCode: "network",
    });
  });
});

describe("listRestoreJobs", () => {
  it("reads a tenant cluster's jobs in one request", async () => {
    const { client: atlas } = client(API_KEY_CREDENTIALS);
    const jobs = await atlas.listRestoreJobs("tenant", GROUP, "Cluster0");
    expect(jobs.map((j) => [j.id, j.clusterName, j.status])).toEqual([
      [id(1), "Cluster0", "PENDING"],
    ]);
  });

  it("follows every flex page at 500 a page", async () => {
    await sim.close();
    sim = await startSim({
      clusters: [{ groupId: GROUP, name: "Flex0", kind: "flex" }],
      jobs: Array.from({ length: 1203 }, (_, i) => ({
        groupId: GROUP,
        clusterName: "Flex0",
        id: id(1000 + i),
        script: [{ afterSeconds: 0, status: "RUNNING" }],
      })),
    });
    const { client: atlas } = client(SERVICE_ACCOUNT_CREDENTIALS);
    const jobs = await atlas.listRestoreJobs("flex", GROUP, "Flex0");
    expect(jobs).toHaveLength(1203);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(1203);
    expect(sim.stats().byRoute["flex.list"]).toBe(3);
  });

  it("names the bad item of a page", async () => {
    const { client: atlas } = client(API_KEY_CREDENTIALS);
    sim.addFault({ kind: "invalid_body", match: { api: "flex" } });
    const error = await failure(atlas.listRestoreJobs("flex", GROUP, "Flex0"));
    expect(error).toBeInstanceOf(AtlasDecodeError);
  });
});

describe("listFlexRestoreJobPages", () => {
  it("reads the next page only while the last was full and asked for, and stops on a short page", async () => {
    await sim.close();
    sim = await startSim({
      clusters: [{ groupId: GROUP, name: "Flex0", kind: "flex" }],
      jobs: Array.from({ length: 1203 }, (_, i) => ({
        groupId: GROUP,
        clusterName: "Flex0",
        id: id(1000 + i),
        createdAfterSeconds: i - 2000,
        script: [{ afterSeconds: i - 2000, status: "COMPLETED" }],
      })),
    });
    const { client: atlas } = client(SERVICE_ACCOUNT_CREDENTIALS);
    const pagesSeen: number[] = [];
    const all = await atlas.listFlexRestoreJobPages(GROUP, "Flex0", (page) => {
      pagesSeen.push(page.length);
      return true;
    });
    expect([all.jobs.length, all.pages, all.complete, pagesSeen]).toEqual([
      1203,
      3,
      true,
      [500, 500],
    ]);
    // Newest first: the last job created comes first.
    expect(all.jobs[0]?.id).toBe(id(1000 + 1202));
    sim.resetStats();
    const first = await atlas.listFlexRestoreJobPages(GROUP, "Flex0", () => false);
    expect([first.jobs.length, first.pages, first.complete]).toEqual([500, 1, false]);
    expect(sim.stats().byRoute["flex.list"]).toBe(1);
  });
});
