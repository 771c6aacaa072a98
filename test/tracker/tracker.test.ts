import { describe, expect, it } from "vitest";
import { AtlasHttpError, AtlasNetworkError, AtlasTimeoutError } from "../../src/atlas/errors.js";
import type { RestoreJob, RestoreStatus } from "../../src/atlas/model.js";
import { sameState, type JobState } from "../../src/tracker/job-state.js";
import {
  initialState,
  isExported,
  isTerminal,
  observeError,
  objectIdTime,
  observeJob,
  observeListedJob,
  resolveApi,
  switchApi,
  tenantGoneReason,
} from "../../src/tracker/tracker.js";
import type { ApiMode } from "../../src/config/settings.js";

const ref = {
  groupId: "32b6e34b3d91647abb20e7b8",
  clusterName: "Cluster0",
  restoreId: "6a793f81d2c4a03c5e4b1f20",
};
const T0 = Date.parse("2026-11-29T10:00:00Z");
const context = { operation: "get tenant restore job", target: "/x" };

function job(status: string, extra: Partial<RestoreJob> = {}): RestoreJob {
  const known = ["PENDING", "QUEUED", "RUNNING", "COMPLETED", "FAILED"];
  return {
    id: ref.restoreId,
    status: (known.includes(status) ? status : "UNKNOWN") as RestoreStatus,
    rawStatus: status,
    ...extra,
  };
}

function seen(status: RestoreStatus | null, extra: Partial<JobState> = {}): JobState {
  return { ...initialState(ref, "tenant"), status, ...extra };
}

describe("observeJob: the transition table", () => {
  it.each<[RestoreStatus | null, string, string[]]>([
    [null, "PENDING", ["transition null→PENDING"]],
    [null, "COMPLETED", ["transition null→COMPLETED"]],
    ["PENDING", "PENDING", []],
    ["PENDING", "QUEUED", ["transition PENDING→QUEUED"]],
    ["QUEUED", "RUNNING", ["transition QUEUED→RUNNING"]],
    ["RUNNING", "COMPLETED", ["transition RUNNING→COMPLETED"]],
    ["RUNNING", "FAILED", ["transition RUNNING→FAILED"]],
    ["PENDING", "FAILED", ["transition PENDING→FAILED"]],
    ["RUNNING", "QUEUED", ["regressed RUNNING→QUEUED", "transition RUNNING→QUEUED"]],
    ["COMPLETED", "RUNNING", ["regressed COMPLETED→RUNNING", "transition COMPLETED→RUNNING"]],
    ["RUNNING", "CLOSED", ["transition RUNNING→UNKNOWN"]],
    ["UNKNOWN", "RUNNING", ["transition UNKNOWN→RUNNING"]],
  ])("%s then %s gives %j", (from, to, expected) => {
    const before = seen(from, from === "UNKNOWN" ? { rawStatus: "CLOSED" } : {});
    const { events } = observeJob(before, job(to), T0);
    expect(
      events.map((e) =>
        e.type === "transition" || e.type === "regressed" ? `${e.type} ${e.from}→${e.to}` : e.type,
      ),
    ).toEqual(expected);
  });

  it("treats a new raw value outside the enum as a change, the same one as no change", () => {
    const before = seen("UNKNOWN", { rawStatus: "CLOSED" });
    expect(observeJob(before, job("CLOSED"), T0).events).toEqual([]);
    const step = observeJob(before, job("ARCHIVED"), T0);
    expect(step.events.map((e) => e.type)).toEqual(["transition"]);
    expect(step.state.rawStatus).toBe("ARCHIVED");
  });

  it("records times, info and durations", () => {
    const scheduled = "2026-11-29T09:00:00Z";
    const finished = "2026-11-29T09:01:03Z";
    const before = seen("RUNNING", { lastTransitionAt: T0 - 30_000 });
    const step = observeJob(
      before,
      job("COMPLETED", {
        deliveryType: "RESTORE",
        snapshotId: "5f4007f327a3bd7b6f4103c5",
        targetProjectId: "32b6e34b3d91647abb20e7b8",
        targetDeploymentItemName: "Cluster1",
        restoreScheduledDate: scheduled,
        restoreFinishedDate: finished,
      }),
      T0,
    );
    expect(step.state).toEqual({
      ...ref,
      api: "tenant",
      status: "COMPLETED",
      info: {
        deliveryType: "RESTORE",
        snapshotId: "5f4007f327a3bd7b6f4103c5",
        targetProjectId: "32b6e34b3d91647abb20e7b8",
        targetDeploymentItemName: "Cluster1",
        scheduledAt: Date.parse(scheduled),
        finishedAt: Date.parse(finished),
      },
      lastTransitionAt: T0,
      terminalSince: T0,
    });
    expect(step.events).toMatchObject([
      {
        type: "transition",
        from: "RUNNING",
        to: "COMPLETED",
        previousStatusSeconds: 30,
        durationSeconds: 63,
      },
    ]);
    expect(isTerminal(step.state)).toBe(true);
  });

  it("keeps the last transition time when nothing changed", () => {
    const before = seen("RUNNING", { lastTransitionAt: T0 - 5_000 });
    const step = observeJob(before, job("RUNNING"), T0);
    expect(step.state.lastTransitionAt).toBe(T0 - 5_000);
  });
});

describe("sameState", () => {
  const state = seen("RUNNING", {
    info: { deliveryType: "RESTORE", scheduledAt: T0 - 9_000 },
    lastTransitionAt: T0 - 5_000,
  });

  it("holds for a poll that only confirms the state, which keeps the very state", () => {
    const scheduled = new Date(T0 - 9_000).toISOString();
    const seenAgain = { deliveryType: "RESTORE", restoreScheduledDate: scheduled };
    const confirmed = observeJob(state, job("RUNNING", seenAgain), T0);
    expect(confirmed).toEqual({ state, events: [] });
    expect(confirmed.state).toBe(state);
    const moved = observeJob(state, job("RUNNING", { ...seenAgain, deliveryType: "DOWNLOAD" }), T0);
    expect(moved.state).not.toBe(state);
    expect(moved.state.info).toEqual({ deliveryType: "DOWNLOAD", scheduledAt: T0 - 9_000 });
    expect(sameState(state, { ...state, info: { ...state.info } })).toBe(true);
  });

  it.each<[string, Partial<JobState>]>([
    ["status", { status: "COMPLETED" }],
    ["a nested field", { info: { deliveryType: "RESTORE", scheduledAt: T0 } }],
    ["a field added", { errorKind: "timeout_headers" }],
    ["a nested object added", { switchedToFlex: { at: T0, reason: "version_gone" } }],
  ])("is false when %s changed", (_what, change) => {
    expect(sameState(state, { ...state, ...change })).toBe(false);
    expect(sameState({ ...state, ...change }, state)).toBe(false);
  });
});

describe("transition ids", () => {
  const idOf = (step: { events: readonly { type: string; id?: string }[] }) => {
    const transition = step.events.find((e) => e.type === "transition");
    if (transition?.id === undefined) throw new Error("no transition in the step");
    return transition.id;
  };

  it("derives the same id again from the same saved state (a restart's repeat)", () => {
    const saved = seen("QUEUED", { lastTransitionAt: T0 - 60_000 });
    const first = idOf(observeJob(saved, job("RUNNING"), T0));
    const again = idOf(observeJob(saved, job("RUNNING"), T0 + 5_000));
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    expect(again).toBe(first);
  });

  it("gives different changes different ids, even the same pair of statuses twice", () => {
    const queued = seen("QUEUED", { lastTransitionAt: T0 - 60_000 });
    const running = observeJob(queued, job("RUNNING"), T0);
    const back = observeJob(running.state, job("QUEUED"), T0 + 1_000);
    const runningAgain = observeJob(back.state, job("RUNNING"), T0 + 2_000);
    const ids = [running, back, runningAgain].map(idOf);
    expect(new Set(ids).size).toBe(3);
    // Another job, same change at the same times: another id.
    const other = { ...queued, restoreId: "6a793f81d2c4a03c5e4b1f21" };
    expect(idOf(observeJob(other, job("RUNNING"), T0))).not.toBe(ids[0]);
    // Another status reached from the same state: another id.
    expect(idOf(observeJob(queued, job("FAILED"), T0))).not.toBe(ids[0]);
  });

  it("tells unknown statuses apart by the text Atlas sent", () => {
    const running = seen("RUNNING", { lastTransitionAt: T0 - 60_000 });
    const closed = idOf(observeJob(running, job("CLOSED"), T0));
    const archived = idOf(observeJob(running, job("ARCHIVED"), T0));
    expect(closed).not.toBe(archived);
  });
});

describe("observeError and recovery", () => {
  const http404 = new AtlasHttpError({ status: 404, errorCode: "RESOURCE_NOT_FOUND" }, context);
  const reset = new AtlasNetworkError("ECONNRESET", "connection reset", context);

  it("reports an error once per kind, then the recovery once", () => {
    let state = seen("RUNNING");
    const first = observeError(state, http404);
    expect(first.events).toMatchObject([
      { type: "poll_error", kind: "http_404_RESOURCE_NOT_FOUND", previousKind: undefined },
    ]);
    state = first.state;
    expect(observeError(state, http404).events).toEqual([]);
    const changed = observeError(state, reset);
    expect(changed.events).toMatchObject([
      {
        type: "poll_error",
        kind: "network_ECONNRESET",
        previousKind: "http_404_RESOURCE_NOT_FOUND",
      },
    ]);
    const recovered = observeJob(changed.state, job("RUNNING"), T0);
    expect(recovered.events).toEqual([
      { type: "poll_recovered", previousKind: "network_ECONNRESET" },
    ]);
    expect(recovered.state.errorKind).toBeUndefined();
  });

  it("distinguishes timeout phases", () => {
    const headers = new AtlasTimeoutError("headers", 1000, context);
    const body = new AtlasTimeoutError("body", 1000, context);
    const step = observeError(observeError(seen("RUNNING"), headers).state, body);
    expect(step.events).toMatchObject([{ kind: "timeout_body", previousKind: "timeout_headers" }]);
  });
});

describe("resolveApi: the sunset switch", () => {
  const sunset = Date.parse("2026-01-22T00:00:00Z");
  it.each<[string, ApiMode, number, Partial<JobState>, string]>([
    ["auto before the sunset", "auto", sunset - 1, {}, "tenant"],
    ["auto at the sunset", "auto", sunset, {}, "flex"],
    [
      "auto after a switch",
      "auto",
      sunset - 1,
      { switchedToFlex: { at: 1, reason: "version_gone" } },
      "flex",
    ],
    ["tenant after the sunset", "tenant", sunset + 1, {}, "tenant"],
    [
      "tenant after a switch",
      "tenant",
      sunset - 1,
      { switchedToFlex: { at: 1, reason: "version_gone" } },
      "tenant",
    ],
    ["flex before the sunset", "flex", sunset - 1, {}, "flex"],
    ["dedicated before the sunset", "dedicated", sunset - 1, {}, "dedicated"],
    [
      "dedicated after a switch in an earlier mode",
      "dedicated",
      sunset + 1,
      { switchedToFlex: { at: 1, reason: "version_gone" } },
      "dedicated",
    ],
  ])("%s", (_name, mode, now, extra, expected) => {
    expect(resolveApi(mode, seen("RUNNING", extra), now, sunset).api).toBe(expected);
  });

  it("logs a switch only for a job already seen, and remembers it in auto mode", () => {
    expect(switchApi(seen(null), "flex", "sunset_date", T0, true)).toEqual({
      state: { ...seen(null), api: "flex", switchedToFlex: { at: T0, reason: "sunset_date" } },
      events: [],
    });
    const step = switchApi(seen("RUNNING"), "flex", "version_gone", T0, true);
    expect(step.events).toEqual([
      { type: "api_switched", from: "tenant", to: "flex", reason: "version_gone" },
    ]);
    expect(step.state.switchedToFlex).toEqual({ at: T0, reason: "version_gone" });
    expect(
      switchApi(seen("RUNNING"), "flex", "configuration", T0, false).state.switchedToFlex,
    ).toBeUndefined();
  });

  it.each<[string, AtlasHttpError, string | undefined]>([
    [
      "410 VERSION_GONE",
      new AtlasHttpError({ status: 410, errorCode: "VERSION_GONE" }, context),
      "version_gone",
    ],
    [
      "400 flex cluster",
      new AtlasHttpError(
        { status: 400, errorCode: "CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API" },
        context,
      ),
      "flex_cluster",
    ],
    [
      "404 cluster",
      new AtlasHttpError({ status: 404, errorCode: "CLUSTER_NOT_FOUND" }, context),
      "cluster_not_found",
    ],
    [
      "404 other",
      new AtlasHttpError({ status: 404, errorCode: "RESOURCE_NOT_FOUND" }, context),
      undefined,
    ],
    [
      "400 other",
      new AtlasHttpError({ status: 400, errorCode: "VALIDATION_ERROR" }, context),
      undefined,
    ],
    ["500", new AtlasHttpError({ status: 500 }, context), undefined],
  ])("tenant answer %s → %s", (_name, error, expected) => {
    expect(tenantGoneReason(error)).toBe(expected);
  });
});

describe("retention", () => {
  it("exports a finished job for the retention, then not", () => {
    const state = seen("COMPLETED", { terminalSince: T0 });
    expect(isExported(state, T0 + 999, 1000)).toBe(true);
    expect(isExported(state, T0 + 1000, 1000)).toBe(false);
    expect(isExported(seen("RUNNING"), T0 + 10 ** 9, 1000)).toBe(true);
  });
});

describe("observeListedJob: history seen for the first time stays quiet", () => {
  const RETENTION = 24 * 3_600_000;
  const hour = 3_600_000;
  const fresh = (): JobState => initialState(ref, "flex");
  // An id whose first four bytes say it was created at T0 - 100 days.
  const oldId = `${Math.floor((T0 - 100 * 86_400_000) / 1000).toString(16)}0000000000000000`;

  it.each<[string, JobState, RestoreJob, string[], number | undefined]>([
    ["unfinished, first seen", fresh(), job("RUNNING"), ["transition null→RUNNING"], undefined],
    [
      "finished within the retention",
      fresh(),
      job("COMPLETED", { restoreFinishedDate: new Date(T0 - hour).toISOString() }),
      ["transition null→COMPLETED"],
      T0,
    ],
    [
      "finished before the retention",
      fresh(),
      job("FAILED", { restoreFinishedDate: new Date(T0 - 25 * hour).toISOString() }),
      [],
      T0 - 25 * hour,
    ],
    [
      "finished, no date, id created 100 days ago",
      { ...fresh(), restoreId: oldId },
      { ...job("COMPLETED"), id: oldId },
      [],
      T0 - 100 * 86_400_000,
    ],
    [
      "already seen: an old finish is still a change",
      seen("RUNNING", { api: "flex" }),
      job("COMPLETED", { restoreFinishedDate: new Date(T0 - 25 * hour).toISOString() }),
      ["transition RUNNING→COMPLETED"],
      T0,
    ],
  ])("%s", (_, state, observed, events, terminalSince) => {
    const step = observeListedJob(state, observed, T0, RETENTION);
    expect(
      step.events.map((e) => (e.type === "transition" ? `transition ${e.from}→${e.to}` : e.type)),
    ).toEqual(events);
    expect(step.state.terminalSince).toBe(terminalSince);
    expect(step.state.status).toBe(observed.status);
    expect(isExported(step.state, T0, RETENTION)).toBe(events.length > 0);
  });

  it("reads an object id's creation time", () => {
    expect(objectIdTime("6a793f81d2c4a03c5e4b1f20")).toBe(0x6a793f81 * 1000);
    expect(objectIdTime("nothex")).toBeUndefined();
  });
});
