import { describe, expect, it } from "vitest";
import {
  AtlasDecodeError,
  AtlasHttpError,
  AtlasNetworkError,
  type AtlasError,
} from "../../src/atlas/errors.js";
import type { RestoreJob, RestoreStatus } from "../../src/atlas/model.js";
import {
  answered,
  exitCodeOf,
  failed,
  isRefusal,
  resultOf,
  stopped,
  type WaitJob,
  type WaitOutcome,
} from "../../src/commands/wait-outcome.js";
import { initialState } from "../../src/tracker/tracker.js";

const REF = {
  groupId: "32b6e34b3d91647abb20e7b8",
  clusterName: "Flex0",
  restoreId: "6a793f81d2c4a03c000000a1",
};
const T0 = Date.parse("2026-12-01T10:00:00Z");
const context = { operation: "get flex restore job", target: "/x" };
const http = (status: number, errorCode?: string) =>
  new AtlasHttpError({ status, ...(errorCode ? { errorCode } : {}) }, context);
const network = new AtlasNetworkError("ECONNRESET", "connection reset", context);

const fresh = (): WaitJob => ({ state: initialState(REF, "flex"), refusals: 0 });
const job = (status: RestoreStatus, rawStatus: string = status): RestoreJob => ({
  id: REF.restoreId,
  status,
  rawStatus,
  restoreScheduledDate: "2026-12-01T09:59:00Z",
  ...(status === "COMPLETED" || status === "FAILED"
    ? { restoreFinishedDate: "2026-12-01T10:04:12Z" }
    : {}),
});

/** Applies answers (a RestoreJob) and errors in order, one second apart. */
function run(steps: readonly (RestoreJob | AtlasError)[]): WaitJob {
  return steps.reduce<WaitJob>(
    (wait, step, i) =>
      "rawStatus" in step
        ? answered(wait, step, T0 + i * 1000).wait
        : failed(wait, step, T0 + i * 1000).wait,
    fresh(),
  );
}

describe("a job's wait", () => {
  it.each<[string, (RestoreJob | AtlasError)[], WaitOutcome | undefined, number]>([
    ["running", [job("PENDING"), job("RUNNING")], undefined, 0],
    ["completed", [job("RUNNING"), job("COMPLETED")], "completed", 0],
    ["failed", [job("FAILED")], "failed", 0],
    ["a status outside the enum is not final", [job("UNKNOWN", "CLOSED")], undefined, 0],
    ["two 404s", [http(404), http(404)], undefined, 2],
    ["three 404s", [http(404), http(404), http(404)], "error", 3],
    ["401, 403, 410", [http(401), http(403), http(410)], "error", 3],
    ["an answer resets the count", [http(404), http(404), job("RUNNING"), http(404)], undefined, 1],
    ["5xx and 429 are not refusals", [http(503), http(429), http(500), network], undefined, 0],
    ["a transient error keeps the count", [http(404), http(503), http(404), http(404)], "error", 3],
  ])("%s", (_name, steps, outcome, refusals) => {
    const wait = run(steps);
    expect(wait.outcome).toBe(outcome);
    expect(wait.refusals).toBe(refusals);
  });

  it.each<[number, boolean]>([
    [400, true],
    [401, true],
    [403, true],
    [404, true],
    [406, true],
    [410, true],
    [429, false],
    [500, false],
    [503, false],
  ])("HTTP %i is a refusal: %s", (status, expected) => {
    expect(isRefusal(http(status))).toBe(expected);
  });

  it("a decode error is not a refusal", () => {
    expect(isRefusal(new AtlasDecodeError(["body is not valid JSON"], context))).toBe(false);
  });
});

describe("when the wait stops", () => {
  it.each<[string, (RestoreJob | AtlasError)[], "timeout" | "interrupted", WaitOutcome]>([
    ["last answer a status", [job("RUNNING")], "timeout", "timeout"],
    ["last poll failed", [job("RUNNING"), network], "timeout", "error"],
    ["never answered", [], "timeout", "error"],
    ["failed, then answered", [network, job("RUNNING")], "timeout", "timeout"],
    ["interrupted", [job("RUNNING")], "interrupted", "interrupted"],
    ["interrupted, never answered", [], "interrupted", "interrupted"],
    ["already finished", [job("FAILED")], "timeout", "failed"],
  ])("%s: %s → %s", (_name, steps, reason, outcome) => {
    expect(stopped(run(steps), reason, T0 + 60_000).outcome).toBe(outcome);
  });

  it.each<[WaitOutcome[], number]>([
    [["completed", "completed"], 0],
    [["completed", "failed"], 1],
    [["failed", "timeout"], 2],
    [["timeout", "error", "failed"], 3],
    [["error", "interrupted"], 130],
  ])("exit code of %j is %i", (outcomes, code) => {
    expect(exitCodeOf(outcomes.map((outcome) => ({ ...fresh(), outcome })))).toBe(code);
  });
});

describe("the result line", () => {
  it("a completed job: Atlas's dates and the time waited", () => {
    const wait = run([job("RUNNING"), job("COMPLETED")]);
    expect(JSON.parse(JSON.stringify(resultOf(REF, wait, T0 - 500)))).toEqual({
      ...REF,
      api: "flex",
      status: "COMPLETED",
      outcome: "completed",
      restoreScheduledDate: "2026-12-01T09:59:00Z",
      restoreFinishedDate: "2026-12-01T10:04:12Z",
      waitedSeconds: 1.5,
    });
  });

  it("an error: the last status, the HTTP status and errorCode", () => {
    const wait = run([job("UNKNOWN", "CLOSED"), http(403, "IP_ADDRESS_NOT_ON_ACCESS_LIST")]);
    const line = JSON.parse(
      JSON.stringify(resultOf(REF, stopped(wait, "timeout", T0 + 9_000), T0)),
    );
    expect(line).toEqual({
      ...REF,
      api: "flex",
      status: "CLOSED",
      outcome: "error",
      restoreScheduledDate: "2026-12-01T09:59:00Z",
      waitedSeconds: 9,
      httpStatus: 403,
      errorCode: "IP_ADDRESS_NOT_ON_ACCESS_LIST",
      errorKind: "http_403_IP_ADDRESS_NOT_ON_ACCESS_LIST",
    });
  });

  it("no answer at all before the timeout", () => {
    const line = JSON.parse(
      JSON.stringify(resultOf(REF, stopped(fresh(), "timeout", T0 + 4_000), T0)),
    );
    expect(line).toEqual({
      ...REF,
      api: "flex",
      status: null,
      outcome: "error",
      waitedSeconds: 4,
      errorKind: "no_answer",
    });
  });
});
