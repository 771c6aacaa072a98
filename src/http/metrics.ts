/**
 * The Prometheus metrics: counters, histograms and process metrics on the project's own
 * prom-client registry, fed as requests and cycles happen, followed by the per-job families,
 * derived at scrape time from the tracker's snapshot (see job-exposition.ts, which keeps the
 * bytes of jobs that did not change), so that a job that leaves leaves no stale series.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ApiFamily, RestoreStatus } from "../atlas/model.js";
import type { RequestObservation } from "../atlas/transport.js";
import type { ExpositionPiece } from "./exposition-response.js";
import { JobExposition } from "./job-exposition.js";
import type { TrackedJob } from "../tracker/job-state.js";
import { isExported } from "../tracker/tracker.js";

/** Where scrape-time job series come from. */
export interface JobSnapshotSource {
  /** The tracked jobs, as of now. */
  jobs(): Iterable<TrackedJob>;
  /** Wall clock, epoch milliseconds. */
  now(): number;
  /** How long finished jobs stay exported. */
  readonly retentionMs: number;
}

/** The `from` label of a first sighting. */
export const NEW_JOB_LABEL = "NEW";

/** prom-client default metrics dropped from the exposition, see createMetrics. */
const MISNAMED_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** The metrics the daemon writes to. */
export interface Metrics {
  readonly registry: Registry;
  /**
   * The whole exposition, the registry's metrics then the job families, in pieces to be written
   * in order as they are (the job families' kept compressed, see exposition-response.ts): at
   * 10,000 jobs it is some 19 MB, which joining and encoding anew at every scrape cost more than
   * rendering.
   */
  render(): Promise<ExpositionPiece[]>;
  /** The exposition's content type. */
  readonly contentType: string;
  /** Counts one request (or attempt) and its duration. */
  observeRequest(observation: RequestObservation): void;
  observeCycle(durationSeconds: number): void;
  cycleSkipped(): void;
  /** A job not polled this cycle because its rate-limit bucket was held past the deadline. */
  pollDeferred(api: ApiFamily, reason: string): void;
  transition(api: ApiFamily, from: RestoreStatus | null, to: RestoreStatus): void;
  /** Records the last verdict on Atlas; `atlas_restore_api_up` has no value before the first. */
  setApiUp(up: boolean): void;
  /** The last verdict on Atlas, if any (kept in the state file across restarts). */
  apiUp(): boolean | undefined;
  setSunset(api: ApiFamily, source: "config" | "header", epochMs: number): void;
  setRateLimitRemaining(api: string, remaining: number): void;
  /** A target (a cluster's LIST, a job's GET) still in flight at its next tick, so not polled. */
  pollSkipped(target: PollTarget): void;
  /** How many clusters have their restore jobs listed, by family. */
  setWatchedClusters(api: ApiFamily, count: number): void;
  /** A listing of an organization's projects or a project's clusters succeeded at `epochMs`. */
  discoverySucceeded(scope: DiscoveryScope, epochMs: number): void;
  /** A listing of an organization's projects or a project's clusters failed. */
  discoveryFailed(scope: DiscoveryScope): void;
  /** A configuration reload ended; the success time is kept only for a success. */
  configReloaded(successful: boolean, epochMs: number): void;
}

/** What a poll reads: a watched cluster's LIST or one job's GET. */
export type PollTarget = "cluster" | "job";

/** What a discovery listing lists: an organization's projects or a project's clusters. */
export type DiscoveryScope = "organization" | "project";

/** Creates every metric on `registry` (a fresh one by default, never the global). */
export function createMetrics(
  source: JobSnapshotSource,
  version: string,
  registry: Registry = new Registry(),
): Metrics {
  // The event loop delay is sampled once a second, not every 10 ms (prom-client's default): each
  // sample wakes the process, and at 100 ms that alone cost an idle daemon about 0.7 ms of CPU a
  // second, some 3 % of the CPU of polling 10,000 jobs every 30 s. A stall of a second or
  // more always shows in the lag; a shorter one shows when a sample falls in it.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 1_000 });
  // These three defaults are gauges named like counters, which `promtool check metrics`
  // rightly flags; their per-type twins (nodejs_active_handles, …) carry the same numbers.
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);

  const transitions = new Counter({
    name: "atlas_restore_transitions_total",
    help: `Status changes seen, by family, previous status (${NEW_JOB_LABEL} for a first sighting) and new status.`,
    labelNames: ["api", "from", "to"],
    registers: [registry],
  });
  const requests = new Counter({
    name: "atlas_restore_api_requests_total",
    help: "Requests to Atlas, by API and outcome: the HTTP status, or timeout, network, decode.",
    labelNames: ["api", "code"],
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: "atlas_restore_api_request_duration_seconds",
    help: "Duration of requests to Atlas, including reading the body.",
    labelNames: ["api"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const cycleDuration = new Histogram({
    name: "atlas_restore_poll_cycle_duration_seconds",
    help: "Duration of poll cycles.",
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [registry],
  });
  const skipped = new Counter({
    name: "atlas_restore_poll_cycles_skipped_total",
    help: "Scheduled poll cycles skipped because the previous one was still running.",
    registers: [registry],
  });
  const deferred = new Counter({
    name: "atlas_restore_polls_deferred_total",
    help: "Job polls put off to a later cycle because Atlas's rate limit (Retry-After or a low bucket) would only allow them after the next tick.",
    labelNames: ["api", "reason"],
    registers: [registry],
  });
  // Registered on the first verdict: a value of 0 before anything is known would fire
  // AtlasRestoreApiDown for a daemon that had nothing to ask yet.
  const apiUp = new Gauge({
    name: "atlas_restore_api_up",
    help: "1 when Atlas last answered usefully (any answer but 401, 403 and 5xx), 0 when it could not be reached or refused the credentials; absent until known.",
    registers: [],
  });
  let apiUpValue: boolean | undefined;
  const sunset = new Gauge({
    name: "atlas_restore_api_sunset_timestamp_seconds",
    help: "When an endpoint family stops being served, from the configuration or Atlas's Sunset header.",
    labelNames: ["api", "source"],
    registers: [registry],
  });
  const rateLimit = new Gauge({
    name: "atlas_restore_api_rate_limit_remaining",
    help: "Atlas's RateLimit-Remaining on the last answer that carried it.",
    labelNames: ["api"],
    registers: [registry],
  });
  const pollsSkipped = new Counter({
    name: "atlas_restore_polls_skipped_total",
    help: "Polls not sent because the same target (a cluster's LIST, a job's GET) was still in flight at its next tick.",
    labelNames: ["target"],
    registers: [registry],
  });
  const watchedClusters = new Gauge({
    name: "atlas_restore_watched_clusters",
    help: "Clusters whose restore jobs are listed, by family (a configured job does not make its cluster watched).",
    labelNames: ["api"],
    registers: [registry],
  });
  for (const target of ["cluster", "job"]) pollsSkipped.inc({ target }, 0);
  watchedClusters.set({ api: "flex" }, 0);
  const discoveryLastSuccess = new Gauge({
    name: "atlas_restore_discovery_last_success_timestamp_seconds",
    help: "When listing an organization's projects (scope organization) or a project's clusters (scope project) last succeeded.",
    labelNames: ["scope"],
    registers: [registry],
  });
  const discoveryErrors = new Counter({
    name: "atlas_restore_discovery_errors_total",
    help: "Failed listings of an organization's projects (scope organization) or a project's clusters (scope project).",
    labelNames: ["scope"],
    registers: [registry],
  });
  for (const scope of ["organization", "project"]) discoveryErrors.inc({ scope }, 0);
  const reloadSuccessful = new Gauge({
    name: "atlas_restore_config_last_reload_successful",
    help: "1 when the last configuration reload succeeded (or none was tried), 0 when it failed.",
    registers: [registry],
  });
  const reloadTimestamp = new Gauge({
    name: "atlas_restore_config_last_reload_success_timestamp_seconds",
    help: "When the configuration was last loaded successfully, at start or on reload.",
    registers: [registry],
  });
  reloadSuccessful.set(1);
  reloadTimestamp.set(source.now() / 1000);
  new Gauge({
    name: "atlas_restore_build_info",
    help: "The running version of atlas-restore-watch, always 1.",
    labelNames: ["version"],
    registers: [registry],
  }).set({ version }, 1);

  const jobFamilies = new JobExposition();
  return {
    registry,
    contentType: registry.contentType,
    async render() {
      const registered = Buffer.from(await registry.metrics());
      const now = source.now();
      const jobs = [...source.jobs()].filter((job) =>
        isExported(job.state, now, source.retentionMs),
      );
      return [registered, ...jobFamilies.render(jobs)];
    },
    observeRequest(observation) {
      requests.inc({ api: observation.api, code: observation.code });
      requestDuration.observe({ api: observation.api }, observation.durationSeconds);
    },
    observeCycle(durationSeconds) {
      cycleDuration.observe(durationSeconds);
    },
    cycleSkipped() {
      skipped.inc();
    },
    pollDeferred(api, reason) {
      deferred.inc({ api, reason });
    },
    transition(api, from, to) {
      transitions.inc({ api, from: from ?? NEW_JOB_LABEL, to });
    },
    setApiUp(up) {
      if (apiUpValue === undefined) registry.registerMetric(apiUp);
      apiUpValue = up;
      apiUp.set(up ? 1 : 0);
    },
    apiUp() {
      return apiUpValue;
    },
    setSunset(api, source, epochMs) {
      sunset.set({ api, source }, epochMs / 1000);
    },
    setRateLimitRemaining(api, remaining) {
      rateLimit.set({ api }, remaining);
    },
    pollSkipped(target) {
      pollsSkipped.inc({ target });
    },
    setWatchedClusters(api, count) {
      watchedClusters.set({ api }, count);
    },
    discoverySucceeded(scope, epochMs) {
      discoveryLastSuccess.set({ scope }, epochMs / 1000);
    },
    discoveryFailed(scope) {
      discoveryErrors.inc({ scope });
    },
    configReloaded(successful, epochMs) {
      reloadSuccessful.set(successful ? 1 : 0);
      if (successful) reloadTimestamp.set(epochMs / 1000);
    },
  };
}
