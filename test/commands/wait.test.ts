/**
 * runWait in process against the simulator, for what the built command cannot be steered into:
 * a clock before the tenant sunset, so that `--api auto` starts on the tenant endpoint.
 */
import { afterEach, describe, expect, it } from "vitest";
import { runWait } from "../../src/commands/wait.js";
import type { Simulator } from "../../src/simulator/index.js";
import { API_KEY_CREDENTIALS, GROUP, id, startSim } from "../support/fixtures.js";

const JOB = id(0x51);
let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe("runWait", () => {
  it("auto before the tenant sunset: a tenant endpoint that is gone moves the job to Flex", async () => {
    const s = await startSim({
      tenant: { sunset: "2025-05-01" }, // Atlas's own tenant paths answer 410 already
      clusters: [{ groupId: GROUP, name: "Cluster0", kind: "flex" }],
      jobs: [
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: JOB,
          script: [{ afterSeconds: 0, status: "COMPLETED" }],
        },
      ],
    });
    sim = s;
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await runWait(
      {
        groupId: GROUP,
        clusterName: "Cluster0",
        api: "auto",
        timeoutMs: 60_000,
        intervalMs: 1_000,
        restoreIds: [JOB],
      },
      {
        access: { baseUrl: s.url, credentials: API_KEY_CREDENTIALS },
        stdout: (line) => stdout.push(line),
        stderr: (line) => stderr.push(line),
        interrupt: new AbortController().signal,
        // 2025-06-01: before the daemon's default tenant sunset of 2026-01-22.
        now: () => s.now(),
      },
    );
    expect(code).toBe(0);
    expect(stdout.map((line) => JSON.parse(line) as unknown)).toMatchObject([
      { restoreId: JOB, api: "flex", status: "COMPLETED", outcome: "completed" },
    ]);
    expect(stderr).toEqual(["Cluster0 6a79…051: COMPLETED"]);
    // One digest challenge, answered once; the nonce then serves both paths.
    expect(s.stats().byRoute).toEqual({ "tenant.get": 2, "flex.get": 1 });
    expect(s.stats().byStatus).toEqual({ "401": 1, "410": 1, "200": 1 });
  });

  it("an interrupt before the first poll: 130, nothing sent", async () => {
    const s = await startSim({});
    sim = s;
    const interrupt = new AbortController();
    interrupt.abort("SIGINT");
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await runWait(
      {
        groupId: GROUP,
        clusterName: "Flex0",
        api: "flex",
        timeoutMs: undefined,
        intervalMs: 1_000,
        restoreIds: [JOB],
      },
      {
        access: { baseUrl: s.url, credentials: API_KEY_CREDENTIALS },
        stdout: (line) => stdout.push(line),
        stderr: (line) => stderr.push(line),
        interrupt: interrupt.signal,
      },
    );
    expect(code).toBe(130);
    expect(stdout.map((line) => JSON.parse(line) as unknown)).toMatchObject([
      { restoreId: JOB, status: null, outcome: "interrupted" },
    ]);
    expect(stderr).toEqual(["Flex0 6a79…051: interrupted by SIGINT; no status seen, left running"]);
    expect(s.stats().requests).toBe(0);
  });
});
