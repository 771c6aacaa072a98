/**
 * The pure core: given a job's previous state, one observation and the time, returns the new
 * state and the events to report. No IO, no clock: `now` is an argument (kube-state-metrics
 * style), so every rule here is a table test.
 */
import { createHash } from "node:crypto";
import { AtlasHttpError, type AtlasError } from "../atlas/errors.js";
import {
  KNOWN_STATUSES,
  TERMINAL_STATUSES,
  type ApiFamily,
  type JobRef,
  type RestoreJob,
  type RestoreStatus,
} from "../atlas/model.js";
import type { ApiMode } from "../config/settings.js";
import { deriveDedicatedStatus } from "./dedicated-status.js";
import {
  boundText,
  sameInfo,
  sameState,
  type JobInfo,
  type JobState,
  type SwitchReason,
} from "./job-state.js";

/** A status change, including the first sighting (`from: null`). */
export interface TransitionEvent {
  readonly type: "transition";
  /** The change's identity, the same whenever it is derived from the same saved state (see transitionId). */
  readonly id: string;
  readonly from: RestoreStatus | null;
  readonly to: RestoreStatus;
  readonly job: RestoreJob;
  /** How long the job was in `from`, when known. */
  readonly previousStatusSeconds?: number;
  /** From scheduled to finished, when the job is final and Atlas gave both dates. */
  readonly durationSeconds?: number;
}

/** A status that went backwards in the restore workflow; Atlas is followed anyway. */
export interface RegressionEvent {
  readonly type: "regressed";
  readonly from: RestoreStatus;
  readonly to: RestoreStatus;
}

/** Polling started failing, or failed in a new way. */
export interface PollErrorEvent {
  readonly type: "poll_error";
  readonly kind: string;
  readonly previousKind: string | undefined;
  readonly error: AtlasError;
}

/** Polling succeeded again after errors. */
export interface PollRecoveredEvent {
  readonly type: "poll_recovered";
  readonly previousKind: string;
}

/** The job moved to another endpoint family. */
export interface ApiSwitchedEvent {
  readonly type: "api_switched";
  readonly from: ApiFamily;
  readonly to: ApiFamily;
  readonly reason: SwitchReason;
}

/** Everything the tracker reports. */
export type TrackerEvent =
  TransitionEvent | RegressionEvent | PollErrorEvent | PollRecoveredEvent | ApiSwitchedEvent;

/** A new state and what happened on the way to it. */
export interface Step {
  readonly state: JobState;
  readonly events: readonly TrackerEvent[];
}

/** The state of a job never seen, to be polled on `api`. */
export function initialState(ref: JobRef, api: ApiFamily): JobState {
  return {
    groupId: ref.groupId,
    clusterName: ref.clusterName,
    restoreId: ref.restoreId,
    api,
    status: null,
  };
}

/** True once a job is COMPLETED, FAILED or CANCELLED: it is not polled again. */
export function isTerminal(state: JobState): boolean {
  return state.status !== null && TERMINAL_STATUSES.has(state.status);
}

/** True while a job's series should be exported. */
export function isExported(state: JobState, now: number, retentionMs: number): boolean {
  return state.terminalSince === undefined || now - state.terminalSince < retentionMs;
}

/**
 * Decides which family a job is polled on. `tenant` and `flex` are exactly that; `auto` is
 * tenant before the sunset date and Flex from then on, or once the job switched.
 */
export function resolveApi(
  mode: ApiMode,
  state: JobState | undefined,
  now: number,
  tenantSunset: number,
): { api: ApiFamily; reason: SwitchReason } {
  if (mode !== "auto") return { api: mode, reason: "configuration" };
  if (state?.switchedToFlex) return { api: "flex", reason: state.switchedToFlex.reason };
  if (now >= tenantSunset) return { api: "flex", reason: "sunset_date" };
  return { api: "tenant", reason: "configuration" };
}

/**
 * Moves a job to `api`. A job already seen on another family gets an api_switched event; a
 * move to Flex in auto mode is remembered so that a restart does not undo it.
 */
export function switchApi(
  state: JobState,
  api: ApiFamily,
  reason: SwitchReason,
  now: number,
  persistent: boolean,
): Step {
  if (state.api === api) return { state, events: [] };
  const remember = persistent && api === "flex" && !state.switchedToFlex;
  const next: JobState = {
    ...state,
    api,
    ...(remember ? { switchedToFlex: { at: now, reason } } : {}),
  };
  const seen = state.status !== null || state.errorKind !== undefined;
  return {
    state: next,
    events: seen ? [{ type: "api_switched", from: state.api, to: api, reason }] : [],
  };
}

/**
 * The tenant answers that mean "this endpoint or cluster is no longer served here": in auto
 * mode they move the job to Flex at once.
 */
export function tenantGoneReason(error: AtlasError): SwitchReason | undefined {
  if (!(error instanceof AtlasHttpError)) return undefined;
  if (error.status === 410) return "version_gone";
  if (error.status === 400 && error.errorCode === "CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API") {
    return "flex_cluster";
  }
  if (error.status === 404 && error.errorCode === "CLUSTER_NOT_FOUND") return "cluster_not_found";
  return undefined;
}

function parseDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function infoOf(job: RestoreJob): JobInfo {
  const info: {
    -readonly [K in keyof JobInfo]: JobInfo[K];
  } = {};
  // Text from Atlas is bounded here, where it enters the state.
  if (job.deliveryType !== undefined) info.deliveryType = boundText(job.deliveryType);
  if (job.snapshotId !== undefined) info.snapshotId = boundText(job.snapshotId);
  if (job.targetProjectId !== undefined) info.targetProjectId = boundText(job.targetProjectId);
  if (job.targetDeploymentItemName !== undefined) {
    info.targetDeploymentItemName = boundText(job.targetDeploymentItemName);
  }
  const scheduledAt = parseDate(job.restoreScheduledDate);
  if (scheduledAt !== undefined) info.scheduledAt = scheduledAt;
  const finishedAt = parseDate(job.restoreFinishedDate);
  if (finishedAt !== undefined) info.finishedAt = finishedAt;
  return info;
}

const ORDER: ReadonlyMap<RestoreStatus, number> = new Map(
  KNOWN_STATUSES.map((status, index) => [status, Math.min(index, 3)]),
);

function isRegression(from: RestoreStatus, to: RestoreStatus): boolean {
  const a = ORDER.get(from);
  const b = ORDER.get(to);
  return a !== undefined && b !== undefined && b < a;
}

/**
 * Applies a successful poll: the job as Atlas sees it now. A dedicated job once seen COMPLETED
 * stays so when it later only reads `expired` (its download link ran out after delivery).
 */
export function observeJob(state: JobState, seen: RestoreJob, now: number): Step {
  const rederived =
    seen.flags !== undefined && state.status === "COMPLETED"
      ? deriveDedicatedStatus(seen.flags, seen.deliveryType, true)
      : undefined;
  const job = rederived === undefined ? seen : { ...seen, status: rederived, rawStatus: rederived };
  const events: TrackerEvent[] = [];
  if (state.errorKind !== undefined) {
    events.push({ type: "poll_recovered", previousKind: state.errorKind });
  }
  // The same values keep the same object: a job's state lives until its next poll, so each
  // object kept outlives the young generation, and a poll that only confirms the job, the common
  // case, keeps the state it had (the time of the success is kept beside it: see TrackedJob).
  const seenInfo = infoOf(job);
  const info = state.info !== undefined && sameInfo(state.info, seenInfo) ? state.info : seenInfo;
  const rawStatus = boundText(job.rawStatus);
  const changed =
    state.status !== job.status || (job.status === "UNKNOWN" && state.rawStatus !== rawStatus);
  const terminal = TERMINAL_STATUSES.has(job.status);
  const next: JobState = {
    groupId: state.groupId,
    clusterName: state.clusterName,
    restoreId: state.restoreId,
    api: state.api,
    status: job.status,
    ...(job.status === "UNKNOWN" ? { rawStatus } : {}),
    info,
    ...(changed
      ? { lastTransitionAt: now }
      : state.lastTransitionAt !== undefined
        ? { lastTransitionAt: state.lastTransitionAt }
        : {}),
    ...(terminal ? { terminalSince: changed ? now : (state.terminalSince ?? now) } : {}),
    ...(state.switchedToFlex ? { switchedToFlex: state.switchedToFlex } : {}),
  };
  if (changed) {
    if (state.status !== null && isRegression(state.status, job.status)) {
      events.push({ type: "regressed", from: state.status, to: job.status });
    }
    const previousStatusSeconds =
      state.status !== null && state.lastTransitionAt !== undefined
        ? (now - state.lastTransitionAt) / 1000
        : undefined;
    const durationSeconds =
      terminal && info.scheduledAt !== undefined && info.finishedAt !== undefined
        ? Math.max(0, (info.finishedAt - info.scheduledAt) / 1000)
        : undefined;
    events.push({
      type: "transition",
      id: transitionId(state, job.status, rawStatus),
      from: state.status,
      to: job.status,
      job,
      ...(previousStatusSeconds !== undefined ? { previousStatusSeconds } : {}),
      ...(durationSeconds !== undefined ? { durationSeconds } : {}),
    });
  }
  return { state: sameState(state, next) ? state : next, events };
}

/**
 * The identity of the change from `state` to `to`: a hash of the job, the status it leaves, the
 * time it entered that status and the status (and, for UNKNOWN, the raw text) it enters. A change
 * is reported before its state is committed, so a kill between the two makes the restart, which
 * polls from the same saved state, derive the same change again: it then carries the same id, and
 * a consumer can drop the repeat. Two different changes of one job never share an id, since each
 * leaves a status entered at a different time.
 */
export function transitionId(state: JobState, to: RestoreStatus, rawStatus?: string): string {
  const key = [
    state.restoreId,
    state.status ?? "",
    state.lastTransitionAt ?? "",
    to,
    to === "UNKNOWN" ? (rawStatus ?? "") : "",
  ].join("\u0000");
  return createHash("sha256").update(key).digest("hex").slice(0, 16);
}

/** The creation time of an Atlas object id (its first four bytes, epoch seconds), or undefined. */
export function objectIdTime(id: string): number | undefined {
  return /^[a-f0-9]{24}$/.test(id) ? Number.parseInt(id.slice(0, 8), 16) * 1000 : undefined;
}

/**
 * Applies a job seen in its cluster's list. Like `observeJob`, except that a job seen for the
 * first time that had finished before `retentionMs` ago (by its finish date, or its id's creation
 * time when Atlas gives none) is remembered quietly: no transition, and its retention has already
 * run out, so it exports no series. Starting on years of history reports only what is current.
 */
export function observeListedJob(
  state: JobState,
  job: RestoreJob,
  now: number,
  retentionMs: number,
): Step {
  const step = observeJob(state, job, now);
  if (state.status !== null || !TERMINAL_STATUSES.has(job.status)) return step;
  const finishedAt = parseDate(job.restoreFinishedDate) ?? objectIdTime(job.id);
  if (finishedAt === undefined || now - finishedAt < retentionMs) return step;
  return {
    state: { ...step.state, lastTransitionAt: finishedAt, terminalSince: finishedAt },
    events: step.events.filter((event) => event.type !== "transition"),
  };
}

/** Applies a failed poll: reported once per kind of failure, not every cycle. */
export function observeError(state: JobState, error: AtlasError): Step {
  // Bounded as the state keeps it, so that a long kind compares equal to itself next cycle.
  const kind = boundText(error.kind);
  if (state.errorKind === kind) return { state, events: [] };
  return {
    state: { ...state, errorKind: kind },
    events: [{ type: "poll_error", kind, previousKind: state.errorKind, error }],
  };
}
