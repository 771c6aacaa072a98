/**
 * Wires the daemon together: Atlas client, discovery, poller, scheduler, metrics and the HTTP
 * server, and reloads the configuration on demand. Every IO dependency can be replaced (tests
 * pass their own clock, logger, store or dispatcher); only main.ts touches the process itself.
 */
import type { Dispatcher } from "undici";
import { createAuthenticator, type Authenticator } from "../atlas/auth.js";
import { AtlasClient } from "../atlas/client.js";
import { headerValue, parseHttpDate, parseNonNegativeInt } from "../atlas/headers.js";
import type { ApiFamily } from "../atlas/model.js";
import { createAgent, type RequestObservation } from "../atlas/transport.js";
import { ConfigError, formatProblem } from "../config/config-error.js";
import type { Settings } from "../config/settings.js";
import { Discovery } from "../discovery/discovery.js";
import { watchStatus, type ReloadStatus, type WatchStatus } from "../discovery/watch-status.js";
import type { HoldLines, Logger } from "../logger.js";
import { createMetrics, type Metrics } from "../http/metrics.js";
import { RecentActivity } from "../http/recent-activity.js";
import type { StatusSnapshot } from "../http/status-snapshot.js";
import { Pacer, bucketKey } from "../polling/pacer.js";
import { Poller } from "../polling/poller.js";
import {
  createResilience,
  withResilience,
  type PollContext,
  type ResilienceOptions,
} from "../polling/resilience.js";
import { logCappedRetryAfter } from "../polling/retry-after-cap.js";
import { Scheduler } from "../polling/scheduler.js";
import { CycleHealth, defaultStaleAfterMs } from "../http/health.js";
import { startServer, type MetricsServer } from "../http/server.js";
import { FileStateStore, type StateStore } from "../state/store.js";
import { isExported } from "../tracker/tracker.js";
import { snapshotOf } from "../tracker/job-state.js";
import { USER_AGENT, VERSION } from "../version.js";

/**
 * How long shutdown waits for the requests in flight before aborting them, and for the token's
 * revocation: with the state saved in between, a stop takes well under Docker's 10 s whatever
 * Atlas does (main.ts exits at SHUTDOWN_DEADLINE_MS in any case).
 */
export const SHUTDOWN_GRACE_MS = 5_000;
export const REVOKE_TIMEOUT_MS = 2_000;

/** Replaceable dependencies; each defaults to the real thing. */
export interface DaemonDeps {
  readonly logger: Logger;
  readonly now?: () => number;
  readonly store?: StateStore;
  /** The environment, for the proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The HTTP dispatcher for Atlas; by default a keep-alive Agent owned by the daemon. */
  readonly agent?: Dispatcher;
  /** Batches a cycle's log lines into one write (main passes its stdout's). */
  readonly holdLines?: HoldLines;
  /** Retry tuning (tests shorten the backoff); the defaults suit Atlas. */
  readonly retry?: Omit<ResilienceOptions, "pacer" | "now">;
  /** Reads the configuration again, for a reload; without it a reload keeps what runs. */
  readonly loadSettings?: () => Promise<Settings>;
}

/** How a reload ended: applied (with the settings that need a restart), or refused. */
export type ReloadResult =
  | { readonly ok: true; readonly restartRequired: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Settings a reload cannot apply to the running process; a change is reported instead. */
const RESTART_SETTINGS = [
  "listen",
  "stateFile",
  "baseUrl",
  "credentials",
  "timeouts",
  "schedule",
] as const satisfies readonly (keyof Settings)[];

/** The running product. */
export class Daemon {
  readonly metrics: Metrics;
  readonly poller: Poller;
  readonly discovery: Discovery;
  #settings: Settings;
  readonly #deps: DaemonDeps;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #activity: RecentActivity;
  readonly #startedAt: number;
  readonly #authenticator: Authenticator;
  readonly #scheduler: Scheduler;
  readonly #ownedAgent: Dispatcher | undefined;
  readonly #announced = new Map<ApiFamily, string>();
  readonly #pacer: Pacer;
  /** Aborts every request in flight when shutdown runs out of patience. */
  readonly #abort = new AbortController();
  readonly #health: CycleHealth;
  #server: MetricsServer | undefined;
  #ready = false;
  /** Set by stop(): a start-up still under way goes no further. */
  #stopping = false;
  #firstRound: Promise<void> | undefined;
  #discoveryTimer: NodeJS.Timeout | undefined;
  #lastReload: ReloadStatus | undefined;
  #reloading: Promise<ReloadResult> | undefined;

  constructor(settings: Settings, deps: DaemonDeps) {
    const now = deps.now ?? Date.now;
    this.#settings = settings;
    this.#deps = deps;
    this.#now = now;
    this.#startedAt = now();
    this.#activity = new RecentActivity(now);
    this.#logger = deps.logger;
    this.#ownedAgent = deps.agent
      ? undefined
      : createAgent({ connectTimeoutMs: settings.timeouts.connectMs }, deps.env ?? process.env);
    const agent = deps.agent ?? (this.#ownedAgent as Dispatcher);
    const jobs = () => this.poller.jobs();
    const current = () => this.#settings;
    this.metrics = createMetrics(
      {
        jobs,
        now,
        get retentionMs() {
          return current().finishedRetentionMs;
        },
      },
      VERSION,
    );
    this.metrics.setSunset("tenant", "config", settings.tenantSunset);
    this.#pacer = new Pacer({ now });
    const observer = (observation: RequestObservation) => {
      this.#observe(observation);
      logCappedRetryAfter(this.#logger, observation, now());
    };
    this.#authenticator = createAuthenticator(settings.credentials, {
      agent,
      baseUrl: settings.baseUrl,
      userAgent: USER_AGENT,
      timeouts: settings.timeouts,
      observer,
      now,
    });
    const client = new AtlasClient({
      baseUrl: settings.baseUrl,
      authenticator: this.#authenticator,
      userAgent: USER_AGENT,
      timeouts: settings.timeouts,
      observer,
      now,
    });
    const resilience = { ...deps.retry, pacer: this.#pacer, now };
    const run = createResilience(resilience);
    this.poller = new Poller({
      fetchJob: withResilience(
        (api, ref, signal) => client.getRestoreJob(api, ref, signal),
        resilience,
      ),
      listJobs: (groupId, clusterName, wantMore, context, api = "flex") =>
        run(
          bucketKey(api, groupId),
          (signal) => client.listRestoreJobPages(api, groupId, clusterName, wantMore, signal),
          context,
        ),
      jobs: settings.jobs,
      mode: settings.api,
      tenantSunset: settings.tenantSunset,
      concurrency: settings.concurrency,
      retentionMs: settings.finishedRetentionMs,
      store: deps.store ?? new FileStateStore(settings.stateFile),
      logger: this.#logger,
      metrics: this.metrics,
      now,
      ...(deps.holdLines ? { holdLines: deps.holdLines } : {}),
      onReported: (state, event) => this.#activity.record(state, event),
    });
    this.discovery = new Discovery({
      listProjects: (orgId, context) =>
        run(
          bucketKey("projects", orgId),
          (signal) => client.listOrgProjects(orgId, signal),
          context,
        ),
      listClusters: (groupId, context) =>
        run(
          bucketKey("flexClusters", groupId),
          (signal) => client.listFlexClusters(groupId, signal),
          context,
        ),
      listAllClusters: (groupId, context) =>
        run(
          bucketKey("clusters", groupId),
          (signal) => client.listClusters(groupId, signal),
          context,
        ),
      logger: this.#logger,
      metrics: this.metrics,
      now,
      concurrency: settings.concurrency,
    });
    this.discovery.setWatch(settings.watch);
    this.#health = new CycleHealth(
      () => settings.healthStaleAfterMs ?? defaultStaleAfterMs(this.#scheduler.longestGapMs()),
    );
    this.#scheduler = new Scheduler({
      schedule: settings.schedule,
      // A tick only starts the targets that are due: it never waits for one that is slow.
      runCycle: (_signal, deadline) => {
        const round = this.#runCycle(deadline);
        this.#firstRound ??= round;
        return Promise.resolve();
      },
      onSkipped: () => this.metrics.cycleSkipped(),
      logger: this.#logger,
    });
  }

  /** The metrics server's address, once started. */
  get address(): { host: string; port: number } | undefined {
    const address = this.#server?.address;
    return address ? { host: address.address, port: address.port } : undefined;
  }

  /** True once the first cycle has finished. */
  get ready(): boolean {
    return this.#ready;
  }

  /** The settings in force (the last successful load or reload). */
  get settings(): Settings {
    return this.#settings;
  }

  /**
   * Listens, loads the state, discovers what to watch, runs the first cycle and starts the
   * schedule. Resolves once the first cycle's targets are over. After stop() it goes no further,
   * so that a stop at any moment of start-up keeps the saved state as it was.
   */
  async start(): Promise<void> {
    const { listen } = this.#settings;
    const server = await startServer(
      {
        render: () => this.metrics.render(),
        contentType: this.metrics.contentType,
        isReady: () => this.#ready,
        status: () => this.statusSnapshot(),
        isHealthy: () => this.#health.healthy(),
        logger: this.#logger,
        lifecycle: {
          enabled: () => this.#settings.enableLifecycle,
          reload: () => this.reload(),
        },
      },
      listen.host,
      listen.port,
    );
    if (this.#stopping) return server.close();
    this.#server = server;
    await this.poller.restore();
    if (this.#stopping) return;
    this.#lastReload = {
      at: this.#now(),
      successful: true,
      problems: [],
      restartRequired: [],
    };
    this.#logger.info(
      {
        event: "daemon_started",
        version: VERSION,
        jobs: this.#settings.jobs.length,
        watch: this.#settings.watch.length,
        schedule: this.#settings.schedule,
        api: this.#settings.api,
        listen: `${server.address.address}:${server.address.port}`,
        auth: this.#settings.credentials.kind,
      },
      "atlas-restore-watch started",
    );
    await this.discoverNow();
    this.#scheduleDiscovery();
    await this.#scheduler.start();
    await this.#firstRound;
    this.#ready = true;
  }

  /** What the status page shows, as of now. */
  statusSnapshot(): StatusSnapshot {
    return {
      now: this.#now(),
      startedAt: this.#startedAt,
      version: VERSION,
      ready: this.#ready,
      // What is current: a watched cluster's history, finished before the retention, stays off
      // the page as it stays out of the metrics and the logs.
      jobs: this.poller
        .jobs()
        .filter((job) => isExported(job.state, this.#now(), this.#settings.finishedRetentionMs))
        .map(snapshotOf),
      errors: this.#activity.errors(),
      transitions: this.#activity.transitions(),
      watched: this.watchStatus(),
      ...(this.#lastReload ? { lastReload: this.#lastReload } : {}),
    };
  }

  /** Runs one cycle now and waits for its targets (those in flight are skipped); for tests. */
  async pollNow(): Promise<void> {
    await this.#runCycle(Number.POSITIVE_INFINITY);
  }

  /** Runs one discovery round now (or joins the running one) and applies what it found. */
  async discoverNow(): Promise<void> {
    if (this.#settings.watch.length === 0 && this.discovery.snapshot().clusters.length === 0) {
      this.poller.setClusters([]);
      return;
    }
    const context: PollContext = {
      signal: this.#abort.signal,
      deadline: this.#now() + this.#settings.discoveryIntervalMs,
    };
    const clusters = await this.discovery.round(context);
    if (!this.#abort.signal.aborted) this.poller.setClusters(clusters);
  }

  /** What is watched and how the last reload went, as plain data (for the status page). */
  watchStatus(): WatchStatus {
    return watchStatus(this.discovery.snapshot(), this.poller.clusters(), this.#lastReload);
  }

  /**
   * Reads the configuration file and the environment again and applies them. What is tracked
   * carries over; an invalid configuration leaves the running one in place. Concurrent calls
   * share one reload.
   */
  reload(): Promise<ReloadResult> {
    this.#reloading ??= this.#reload().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  async #reload(): Promise<ReloadResult> {
    const load = this.#deps.loadSettings;
    let next: Settings;
    try {
      if (!load) throw new ConfigError([{ key: "reload", message: "no configuration source" }]);
      next = await load();
    } catch (error) {
      const problems =
        error instanceof ConfigError
          ? error.problems.map(formatProblem)
          : [`internal error: ${error instanceof Error ? error.message : String(error)}`];
      const at = this.#now();
      this.#lastReload = { at, successful: false, problems, restartRequired: [] };
      this.metrics.configReloaded(false, at);
      this.#logger.error(
        { event: "config_reload_failed", problems },
        "configuration reload failed; the running configuration stays",
      );
      return { ok: false, problems };
    }
    const previous = this.#settings;
    const restartRequired = RESTART_SETTINGS.filter(
      (name) => JSON.stringify(previous[name]) !== JSON.stringify(next[name]),
    );
    // What cannot change while running keeps its running value.
    const applied: Settings = { ...next };
    for (const name of restartRequired) Object.assign(applied, { [name]: previous[name] });
    this.#settings = applied;
    this.#logger.level = applied.logLevel;
    this.poller.configure({
      mode: applied.api,
      tenantSunset: applied.tenantSunset,
      retentionMs: applied.finishedRetentionMs,
      concurrency: applied.concurrency,
    });
    this.poller.setJobs(applied.jobs);
    this.discovery.setWatch(applied.watch);
    const at = this.#now();
    this.#lastReload = { at, successful: true, problems: [], restartRequired };
    this.metrics.configReloaded(true, at);
    this.#logger.info(
      {
        event: "config_reloaded",
        jobs: applied.jobs.length,
        watch: applied.watch.length,
        restartRequired,
      },
      restartRequired.length > 0
        ? "configuration reloaded; some settings need a restart"
        : "configuration reloaded",
    );
    // New watches are listed at once, not at the next discovery interval.
    this.#scheduleDiscovery(0);
    return { ok: true, restartRequired };
  }

  /** Runs discovery after `delayMs` (by default the interval), then again every interval. */
  #scheduleDiscovery(delayMs = this.#settings.discoveryIntervalMs): void {
    clearTimeout(this.#discoveryTimer);
    if (this.#stopping) return;
    this.#discoveryTimer = setTimeout(() => {
      this.discoverNow()
        .catch((error: unknown) => {
          this.#logger.error(
            {
              event: "discovery_failed",
              error: error instanceof Error ? error.message : String(error),
            },
            "discovery round failed",
          );
        })
        .finally(() => this.#scheduleDiscovery());
    }, delayMs);
  }

  /**
   * Stops the schedule and discovery, lets the requests in flight finish (aborting them once
   * SHUTDOWN_GRACE_MS has passed in all), saves, revokes the token (giving up after
   * REVOKE_TIMEOUT_MS), closes. Nothing is saved before the saved state was loaded.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#discoveryTimer);
    const graceEnds = performance.now() + SHUTDOWN_GRACE_MS;
    await this.#scheduler.stop(SHUTDOWN_GRACE_MS);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, graceEnds - performance.now()));
    });
    const outcome = await Promise.race([this.poller.idle().then(() => "done" as const), timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      this.#abort.abort(new Error("shutting down"));
      await this.poller.idle();
    }
    this.poller.save();
    const revoked = await this.#authenticator.close(AbortSignal.timeout(REVOKE_TIMEOUT_MS));
    if (revoked.status === "failed") {
      // A token left alive expires on its own; say so rather than fail the shutdown.
      this.#logger.warn(
        { event: "token_revoke_failed", error: revoked.error.message },
        "could not revoke the service-account token",
      );
    }
    await this.#server?.close();
    // Nothing is left to send: a request still hanging on Atlas is dropped, not awaited.
    await this.#ownedAgent?.destroy();
    this.#logger.info({ event: "daemon_stopped" }, "atlas-restore-watch stopped");
  }

  async #runCycle(deadline: number): Promise<void> {
    if (this.#stopping) return;
    const started = performance.now();
    try {
      const result = await this.poller.pollOnce(this.#abort.signal, deadline);
      this.#health.cycleFinished();
      const seconds = (performance.now() - started) / 1000;
      this.metrics.observeCycle(seconds);
      this.#logger.debug(
        { event: "poll_cycle_finished", ...result, seconds },
        "poll cycle finished",
      );
    } catch (error) {
      this.#logger.error(
        {
          event: "poll_cycle_failed",
          error: error instanceof Error ? error.message : String(error),
        },
        "poll cycle failed",
      );
    }
  }

  #observe(observation: RequestObservation): void {
    this.metrics.observeRequest(observation);
    const headers = observation.headers;
    if (!headers) return;
    const remaining = parseNonNegativeInt(headerValue(headers, "ratelimit-remaining"));
    if (remaining !== undefined) this.metrics.setRateLimitRemaining(observation.api, remaining);
    if (observation.api === "oauth") return;
    if (observation.groupId !== undefined) {
      const limit = parseNonNegativeInt(headerValue(headers, "ratelimit-limit"));
      this.#pacer.observe(bucketKey(observation.api, observation.groupId), remaining, limit);
    }
    const api = observation.api;
    if (api !== "tenant" && api !== "flex") return;
    const sunsetHeader = headerValue(headers, "sunset");
    const deprecationHeader = headerValue(headers, "deprecation");
    const sunset = parseHttpDate(sunsetHeader);
    if (sunset !== undefined) this.metrics.setSunset(api, "header", sunset);
    if (sunsetHeader === undefined && deprecationHeader === undefined) return;
    const announcement = `${deprecationHeader ?? ""}|${sunsetHeader ?? ""}`;
    if (this.#announced.get(api) === announcement) return;
    this.#announced.set(api, announcement);
    const deprecation = parseHttpDate(deprecationHeader);
    this.#logger.warn(
      {
        event: "restore_api_deprecated",
        api,
        deprecation:
          deprecation !== undefined
            ? new Date(deprecation).toISOString()
            : deprecationHeader?.slice(0, 100),
        sunset: sunset !== undefined ? new Date(sunset).toISOString() : sunsetHeader?.slice(0, 100),
      },
      "Atlas announced the end of a restore endpoint family",
    );
  }
}
