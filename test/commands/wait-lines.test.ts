import { describe, expect, it } from "vitest";
import {
  AtlasAuthError,
  AtlasDecodeError,
  AtlasHttpError,
  AtlasNetworkError,
  AtlasTimeoutError,
  type AtlasError,
} from "../../src/atlas/errors.js";
import type { RestoreJob } from "../../src/atlas/model.js";
import { describeError, endLine, eventLine, jobLabel } from "../../src/commands/wait-lines.js";
import type { WaitJob } from "../../src/commands/wait-outcome.js";
import type { TrackerEvent } from "../../src/tracker/tracker.js";
import { initialState } from "../../src/tracker/tracker.js";

const REF = {
  groupId: "32b6e34b3d91647abb20e7b8",
  clusterName: "Flex0",
  restoreId: "6a793f81d2c4a03c5e4b1f21",
};
const STATE = initialState(REF, "flex");
const context = { operation: "get flex restore job", target: "/api/atlas/v2/groups/x" };
const job = (status: RestoreJob["status"], rawStatus: string = status): RestoreJob => ({
  id: REF.restoreId,
  status,
  rawStatus,
});

describe("wait's stderr lines", () => {
  it("label a job by its cluster and a shortened id", () => {
    expect(jobLabel(REF)).toBe("Flex0 6a79…f21");
  });

  it.each<[string, TrackerEvent, string | undefined]>([
    [
      "first sighting",
      { type: "transition", id: "1", from: null, to: "RUNNING", job: job("RUNNING") },
      "Flex0 6a79…f21: RUNNING",
    ],
    [
      "a change",
      {
        type: "transition",
        id: "2",
        from: "RUNNING",
        to: "COMPLETED",
        job: job("COMPLETED"),
        previousStatusSeconds: 252.4,
      },
      "Flex0 6a79…f21: RUNNING → COMPLETED after 4m12s",
    ],
    [
      "a status outside the enum, as Atlas sent it",
      {
        type: "transition",
        id: "2",
        from: "RUNNING",
        to: "UNKNOWN",
        job: job("UNKNOWN", "CLOSED"),
        previousStatusSeconds: 3,
      },
      "Flex0 6a79…f21: RUNNING → CLOSED after 3s",
    ],
    [
      "a failing poll",
      {
        type: "poll_error",
        kind: "http_503",
        previousKind: undefined,
        error: new AtlasHttpError({ status: 503 }, context),
      },
      "Flex0 6a79…f21: asking again after HTTP 503",
    ],
    [
      "a recovery",
      { type: "poll_recovered", previousKind: "http_503" },
      "Flex0 6a79…f21: Atlas answers again",
    ],
    [
      "a move",
      { type: "api_switched", from: "tenant", to: "flex", reason: "version_gone" },
      "Flex0 6a79…f21: moved from the tenant to the flex endpoint (version_gone)",
    ],
    [
      "a regression (its transition line says it)",
      { type: "regressed", from: "RUNNING", to: "QUEUED" },
      undefined,
    ],
  ])("%s", (_name, event, expected) => {
    expect(eventLine(STATE, event)).toBe(expected);
  });

  it.each<[AtlasError, string]>([
    [
      new AtlasHttpError(
        { status: 404, errorCode: "RESOURCE_NOT_FOUND", detail: "No restore job." },
        context,
      ),
      "HTTP 404 RESOURCE_NOT_FOUND: No restore job.",
    ],
    [new AtlasTimeoutError("headers", 30_000, context), "headers timeout"],
    [
      new AtlasNetworkError("ENOTFOUND", "the host name could not be resolved", context),
      "network error ENOTFOUND",
    ],
    [
      new AtlasDecodeError(["body is not valid JSON"], context),
      "unexpected answer (body is not valid JSON)",
    ],
    [
      new AtlasAuthError("token request budget spent", context),
      "get flex restore job /api/atlas/v2/groups/x: token request budget spent",
    ],
  ])("describe %s", (error, expected) => {
    expect(describeError(error)).toBe(expected);
  });

  it.each<[string, WaitJob, string | undefined]>([
    [
      "completed",
      { state: { ...STATE, status: "COMPLETED" }, refusals: 0, outcome: "completed" },
      undefined,
    ],
    [
      "refused",
      {
        state: STATE,
        refusals: 3,
        outcome: "error",
        error: new AtlasHttpError(
          { status: 403, errorCode: "IP_ADDRESS_NOT_ON_ACCESS_LIST" },
          context,
        ),
      },
      "Flex0 6a79…f21: giving up after 3 refusals in a row: HTTP 403 IP_ADDRESS_NOT_ON_ACCESS_LIST",
    ],
    [
      "refused on a dedicated cluster: the role is named",
      {
        state: initialState({ ...REF, clusterName: "Prod0" }, "dedicated"),
        refusals: 3,
        outcome: "error",
        error: new AtlasHttpError({ status: 403, errorCode: "USER_UNAUTHORIZED" }, context),
      },
      "Prod0 6a79…f21: giving up after 3 refusals in a row: HTTP 403 USER_UNAUTHORIZED (reading a dedicated cluster's restore jobs needs the Project Backup Manager role)",
    ],
    [
      "a Flex read of a dedicated cluster: the --api to use is named",
      {
        state: initialState({ ...REF, clusterName: "Prod0" }, "flex"),
        refusals: 3,
        outcome: "error",
        error: new AtlasHttpError(
          { status: 400, errorCode: "CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API" },
          context,
        ),
      },
      "Prod0 6a79…f21: giving up after 3 refusals in a row: HTTP 400 CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API (a dedicated cluster: wait for it with --api dedicated)",
    ],
    [
      "unreachable until the timeout",
      {
        state: { ...STATE, status: "RUNNING" },
        refusals: 0,
        outcome: "error",
        error: new AtlasTimeoutError("connect", 10_000, context),
      },
      "Flex0 6a79…f21: timeout of 1h30m passed with Atlas unreachable (connect timeout); last status RUNNING",
    ],
    [
      "never answered",
      { state: STATE, refusals: 0, outcome: "error" },
      "Flex0 6a79…f21: timeout of 1h30m passed with Atlas unreachable (no answer); no status seen",
    ],
    [
      "timeout",
      { state: { ...STATE, status: "QUEUED" }, refusals: 0, outcome: "timeout" },
      "Flex0 6a79…f21: timeout of 1h30m passed; still QUEUED, left running",
    ],
    [
      "interrupted",
      { state: STATE, refusals: 0, outcome: "interrupted" },
      "Flex0 6a79…f21: interrupted by SIGTERM; no status seen, left running",
    ],
  ])("the end: %s", (_name, wait, expected) => {
    expect(endLine(wait, 5_400_000, "SIGTERM")).toBe(expected);
  });
});
