/**
 * Wires the daemon together: Atlas client, poller, scheduler, metrics and the HTTP server. Every
 * IO dependency can be replaced (tests pass their own clock, logger, store or dispatcher); only
 * main.ts touches the process itself.
 */
import type { Dispatcher } from "undici";
import { createAuthenticator, type Authenticator } from "../atlas/auth.js";
import { AtlasClient } from "../atlas/client.js";
import { headerValue, parseHttpDate, parseNonNegativeInt } from "../atlas/headers.js";
import type { ApiFamily } from "../atlas/model.js";
import { createAgent, type RequestObservation } from "../atlas/transport.js";
import type { Settings } from "../config/settings.js";
import type { HoldLines, Logger } from "../logger.js";
import { createMetrics, type Metrics } from "../http/metrics.js";
import { RecentActivity } from "../http/recent-activity.js";
import type { StatusSnapshot } from "../http/status-snapshot.js";
import { Pacer, bucketKey } from "../polling/pacer.js";
import { Poller } from "../polling/poller.js";
import { withResilience, type ResilienceOptions } from "../polling/resilience.js";
import { Scheduler } from "../polling/scheduler.js";
import { startServer, type MetricsServer } from "../http/server.js";
import { FileStateStore, type StateStore } from "../state/store.js";
import { USER_AGENT, VERSION } from "../version.js";

/** How long shutdown waits for a running cycle before aborting its requests. */
export const SHUTDOWN_GRACE_MS = 10_000;

/** Replaceable dependencies; each defaults to the real thing. */
export interface DaemonDeps {
  readonly logger: Logger;
  readonly now?: () => number;
  readonly store?: StateStore;
  /** The HTTP dispatcher for Atlas; by default a keep-alive Agent owned by the daemon. */
  readonly agent?: Dispatcher;
  /** Batches a cycle's log lines into one write (main passes its stdout's). */
  readonly holdLines?: HoldLines;
  /** Retry tuning (tests shorten the backoff); the defaults suit Atlas. */
  readonly retry?: Omit<ResilienceOptions, "pacer" | "now">;
}

/** The running product. */
export class Daemon {
  readonly metrics: Metrics;
  readonly poller: Poller;
  readonly #settings: Settings;
  readonly #logger: Logger;
  readonly #authenticator: Authenticator;
  readonly #scheduler: Scheduler;
  readonly #ownedAgent: Dispatcher | undefined;
  readonly #announced = new Map<ApiFamily, string>();
  readonly #pacer: Pacer;
  readonly #activity: RecentActivity;
  readonly #now: () => number;
  readonly #startedAt: number;
  #server: MetricsServer | undefined;
  #ready = false;

  constructor(settings: Settings, deps: DaemonDeps) {
    const now = deps.now ?? Date.now;
    this.#now = now;
    this.#startedAt = now();
    this.#activity = new RecentActivity(now);
    this.#settings = settings;
    this.#logger = deps.logger;
    this.#ownedAgent = deps.agent
      ? undefined
      : createAgent({ connectTimeoutMs: settings.timeouts.connectMs });
    const agent = deps.agent ?? (this.#ownedAgent as Dispatcher);
    const jobs = () => this.poller.jobs();
    this.metrics = createMetrics({ jobs, now, retentionMs: settings.finishedRetentionMs }, VERSION);
    this.metrics.setSunset("tenant", "config", settings.tenantSunset);
    this.#pacer = new Pacer({ now });
    const observer = (observation: RequestObservation) => this.#observe(observation);
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
    this.poller = new Poller({
      fetchJob: withResilience((api, ref, signal) => client.getRestoreJob(api, ref, signal), {
        ...deps.retry,
        pacer: this.#pacer,
        now,
      }),
      jobs: settings.jobs,
      mode: settings.api,
      tenantSunset: settings.tenantSunset,
      concurrency: settings.concurrency,
      store: deps.store ?? new FileStateStore(settings.stateFile),
      logger: this.#logger,
      metrics: this.metrics,
      now,
      ...(deps.holdLines ? { holdLines: deps.holdLines } : {}),
      onReported: (state, event) => this.#activity.record(state, event),
    });
    this.#scheduler = new Scheduler({
      schedule: settings.schedule,
      runCycle: (signal, deadline) => this.#runCycle(signal, deadline),
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

  /** Listens, loads the state, runs the first cycle and starts the schedule. */
  async start(): Promise<void> {
    const { listen } = this.#settings;
    this.#server = await startServer(
      {
        render: () => this.metrics.render(),
        contentType: this.metrics.contentType,
        isReady: () => this.#ready,
        status: () => this.statusSnapshot(),
        logger: this.#logger,
      },
      listen.host,
      listen.port,
    );
    await this.poller.restore();
    this.#logger.info(
      {
        event: "daemon_started",
        version: VERSION,
        jobs: this.#settings.jobs.length,
        schedule: this.#settings.schedule,
        api: this.#settings.api,
        listen: `${this.#server.address.address}:${this.#server.address.port}`,
        auth: this.#settings.credentials.kind,
      },
      "atlas-restore-watch started",
    );
    await this.#scheduler.start();
    this.#ready = true;
  }

  /** What the status page shows, as of now. */
  statusSnapshot(): StatusSnapshot {
    return {
      now: this.#now(),
      startedAt: this.#startedAt,
      version: VERSION,
      ready: this.#ready,
      jobs: [...this.poller.jobs()],
      errors: this.#activity.errors(),
      transitions: this.#activity.transitions(),
    };
  }

  /** Runs one cycle now (or waits for the running one); for tests and the demo. */
  pollNow(): Promise<void> {
    return this.#scheduler.trigger();
  }

  /** Stops the schedule, lets a running cycle finish, saves, revokes the token, closes. */
  async stop(): Promise<void> {
    await this.#scheduler.stop(SHUTDOWN_GRACE_MS);
    this.poller.save();
    const revoked = await this.#authenticator.close();
    if (revoked.status === "failed") {
      // A token left alive expires on its own; say so rather than fail the shutdown.
      this.#logger.warn(
        { event: "token_revoke_failed", error: revoked.error.message },
        "could not revoke the service-account token",
      );
    }
    await this.#server?.close();
    await this.#ownedAgent?.close();
    this.#logger.info({ event: "daemon_stopped" }, "atlas-restore-watch stopped");
  }

  async #runCycle(signal: AbortSignal, deadline: number): Promise<void> {
    const started = performance.now();
    const result = await this.poller.pollOnce(signal, deadline);
    const seconds = (performance.now() - started) / 1000;
    this.metrics.observeCycle(seconds);
    this.#logger.debug({ event: "poll_cycle_finished", ...result, seconds }, "poll cycle finished");
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
    const sunsetHeader = headerValue(headers, "sunset");
    const deprecationHeader = headerValue(headers, "deprecation");
    const sunset = parseHttpDate(sunsetHeader);
    if (sunset !== undefined) this.metrics.setSunset(observation.api, "header", sunset);
    if (sunsetHeader === undefined && deprecationHeader === undefined) return;
    const announcement = `${deprecationHeader ?? ""}|${sunsetHeader ?? ""}`;
    if (this.#announced.get(observation.api) === announcement) return;
    this.#announced.set(observation.api, announcement);
    const deprecation = parseHttpDate(deprecationHeader);
    this.#logger.warn(
      {
        event: "restore_api_deprecated",
        api: observation.api,
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
