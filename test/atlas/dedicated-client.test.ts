/**
 * The client on the dedicated family against the simulator: GET one and the paged LIST decode
 * into the shared model, and answers that are not the job are typed errors, never a status.
 */
import type { Dispatcher } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AtlasDecodeError, AtlasHttpError, type AtlasError } from "../../src/atlas/errors.js";
import type { JobRef } from "../../src/atlas/model.js";
import type { Fault, Simulator } from "../../src/simulator/index.js";
import { API_KEY_CREDENTIALS, GROUP, T0, clientFor, startSim } from "../support/fixtures.js";

/** A dedicated id whose first four bytes are the scenario's t=0, then `n`. */
const dedicatedId = (n: number) =>
  `${Math.floor(T0 / 1000).toString(16)}d2c4a03c${n.toString(16).padStart(8, "0")}`;
const REF: JobRef = { groupId: GROUP, clusterName: "Prod0", restoreId: dedicatedId(1) };

let sim: Simulator;
const agents: Dispatcher[] = [];

beforeEach(async () => {
  sim = await startSim({
    clusters: [{ groupId: GROUP, name: "Prod0", kind: "dedicated" }],
    jobs: [1, 2, 3].map((n) => ({
      groupId: GROUP,
      clusterName: "Prod0",
      id: dedicatedId(n),
      deliveryType: n === 2 ? ("download" as const) : ("automated" as const),
      script: [
        { afterSeconds: 0, status: "RUNNING" },
        { afterSeconds: 60, status: "COMPLETED" },
      ],
    })),
  });
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await sim.close();
});

function atlas() {
  const made = clientFor(sim, API_KEY_CREDENTIALS);
  agents.push(made.agent);
  return made;
}

describe("the client on the dedicated family", () => {
  it("reads one job: RUNNING, then COMPLETED with finishedAt, dated by its id", async () => {
    const { client, observed } = atlas();
    expect(await client.getRestoreJob("dedicated", REF)).toMatchObject({
      id: REF.restoreId,
      status: "RUNNING",
      deliveryType: "automated",
      restoreScheduledDate: "2025-06-01T12:00:00Z",
    });
    sim.advance(60);
    expect(await client.getRestoreJob("dedicated", REF)).toMatchObject({
      status: "COMPLETED",
      restoreFinishedDate: "2025-06-01T12:01:00Z",
      flags: { finished: true },
    });
    expect(observed.map((o) => [o.api, o.code])).toEqual([
      ["dedicated", "200"],
      ["dedicated", "200"],
    ]);
  });

  it("lists a cluster's jobs through the paged LIST", async () => {
    const { client } = atlas();
    sim.advance(60);
    const jobs = await client.listRestoreJobs("dedicated", GROUP, "Prod0");
    expect(jobs.map((job) => [job.id.slice(-1), job.status, job.deliveryType])).toEqual([
      ["1", "COMPLETED", "automated"],
      ["2", "COMPLETED", "download"],
      ["3", "COMPLETED", "automated"],
    ]);
  });

  it.each<[string, Fault, string, string]>([
    ["invalid_body", { kind: "invalid_body" }, "ATLAS_DECODE_ERROR", "decode"],
    ["wrong_id", { kind: "wrong_id" }, "ATLAS_DECODE_ERROR", "decode"],
    ["malformed_json", { kind: "malformed_json" }, "ATLAS_DECODE_ERROR", "decode"],
    [
      "forbidden",
      { kind: "forbidden" },
      "ATLAS_HTTP_ERROR",
      "http_403_IP_ADDRESS_NOT_ON_ACCESS_LIST",
    ],
  ])("turns %s into a typed error", async (_name, fault, code, kind) => {
    sim.addFault({ ...fault, match: { api: "dedicated" } });
    const { client } = atlas();
    const error = await client.getRestoreJob("dedicated", REF).then(
      () => undefined,
      (caught: unknown) => caught as AtlasError,
    );
    expect([error?.code, error?.kind]).toEqual([code, kind]);
    expect(error instanceof AtlasDecodeError || error instanceof AtlasHttpError).toBe(true);
  });

  it("a dedicated cluster read on the Flex path is a 400 with a code to branch on", async () => {
    const { client } = atlas();
    const error = await client.getRestoreJob("flex", REF).then(
      () => undefined,
      (caught: unknown) => caught as AtlasHttpError,
    );
    expect([error?.status, error?.errorCode]).toEqual([
      400,
      "CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API",
    ]);
  });
});
