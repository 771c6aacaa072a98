import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.js";
import {
  FLEX_JOB,
  FLEX_REF,
  GROUP,
  JOB,
  JOB2,
  TENANT_REF,
  apiGet,
  baseScenario,
  fetchToken,
  jobUrl,
  json,
  start,
} from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe("a job's status over simulator time", () => {
  it("follows the script on the tenant path, second by second", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    const url = jobUrl(sim, "tenant", TENANT_REF);
    const seen: [number, unknown][] = [];
    for (const step of [0, 4.9, 0.1, 5, 19.9, 0.1]) {
      sim.advance(step);
      const body = json(await apiGet(url, "tenant", token));
      seen.push([(sim.now() - Date.parse("2025-06-01T12:00:00Z")) / 1000, body["status"]]);
    }
    expect(seen).toEqual([
      [0, "PENDING"],
      [4.9, "PENDING"],
      [5, "QUEUED"],
      [10, "RUNNING"],
      [29.9, "RUNNING"],
      [30, "COMPLETED"],
    ]);
  });

  it("renders a tenant RESTORE job with every field Atlas sends, and restoreFinishedDate once done", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    const url = jobUrl(sim, "tenant", TENANT_REF);
    const running = await apiGet(url, "tenant", token);
    expect(running.status).toBe(200);
    expect(running.headers["content-type"]).toBe(
      "application/vnd.atlas.2023-01-01+json;charset=utf-8",
    );
    expect(json(running)).toEqual({
      clusterName: "Cluster0",
      deliveryType: "RESTORE",
      id: JOB,
      links: [{ href: url, rel: "self" }],
      projectId: GROUP,
      restoreScheduledDate: "2025-06-01T12:00:00Z",
      snapshotFinishedDate: "2025-06-01T11:55:00Z",
      snapshotId: expect.stringMatching(/^[a-f0-9]{24}$/),
      status: "PENDING",
      targetDeploymentItemName: "Cluster0-restore",
      targetProjectId: GROUP,
    });
    sim.advance(45);
    const done = json(await apiGet(url, "tenant", token));
    expect(done["status"]).toBe("COMPLETED");
    expect(done["restoreFinishedDate"]).toBe("2025-06-01T12:00:30Z");
    // The default snapshot id is derived from the job id: stable across runs.
    expect(done["snapshotId"]).toBe(json(running)["snapshotId"]);
  });

  it("does not know a job before createdAfterSeconds, then shows a DOWNLOAD job with its link", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    const url = jobUrl(sim, "tenant", { ...TENANT_REF, restoreId: JOB2 });
    sim.advance(19);
    const early = await apiGet(url, "tenant", token);
    expect(early.status).toBe(404);
    expect(json(early)["errorCode"]).toBe("RESOURCE_NOT_FOUND");
    sim.advance(1);
    const created = json(await apiGet(url, "tenant", token));
    expect(created["status"]).toBe("RUNNING");
    expect(created["restoreScheduledDate"]).toBe("2025-06-01T12:00:20Z");
    expect(created["expirationDate"]).toBe("2025-06-01T16:00:20Z");
    expect(created["snapshotUrl"]).toBe(
      `${sim.url}/backup/restore/v2/pull/${JOB2}/snapshot.tar.gz`,
    );
    expect(created).not.toHaveProperty("restoreFinishedDate");
    sim.advance(20);
    const failed = json(await apiGet(url, "tenant", token));
    expect([failed["status"], failed["restoreFinishedDate"]]).toEqual([
      "FAILED",
      "2025-06-01T12:00:40Z",
    ]);
  });

  it("renders a flex job with instanceName, without links or clusterName", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    sim.advance(3);
    const answer = await apiGet(jobUrl(sim, "flex", FLEX_REF), "flex", token);
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe(
      "application/vnd.atlas.2024-11-13+json;charset=utf-8",
    );
    const body = json(answer);
    expect(body["instanceName"]).toBe("Flex0");
    expect(body["id"]).toBe(FLEX_JOB);
    expect(body["status"]).toBe("RUNNING");
    expect(body).not.toHaveProperty("links");
    expect(body).not.toHaveProperty("clusterName");
  });

  it("serves a status outside the enum as it is", async () => {
    sim = await start(
      baseScenario({
        jobs: [
          {
            groupId: GROUP,
            clusterName: "Cluster0",
            id: JOB,
            script: [
              { afterSeconds: 0, status: "RUNNING" },
              { afterSeconds: 1, status: "CLOSED" },
            ],
          },
        ],
      }),
    );
    const token = await fetchToken(sim);
    sim.advance(1);
    expect(json(await apiGet(jobUrl(sim, "tenant", TENANT_REF), "tenant", token))["status"]).toBe(
      "CLOSED",
    );
  });

  it("lists a tenant cluster's existing jobs without paging", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    const url = jobUrl(sim, "tenant", { groupId: GROUP, clusterName: "Cluster0" });
    const before = json(await apiGet(url, "tenant", token));
    expect(before["totalCount"]).toBe(1);
    expect(before["links"]).toEqual([{ href: url, rel: "self" }]);
    sim.advance(20);
    const after = json<{ results: { id: string; status: string }[]; totalCount: number }>(
      await apiGet(url, "tenant", token),
    );
    expect(after.results.map((r) => [r.id, r.status])).toEqual([
      [JOB, "RUNNING"],
      [JOB2, "RUNNING"],
    ]);
    expect(after.totalCount).toBe(2);
  });
});
