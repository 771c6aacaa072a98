/**
 * The Atlas simulator: a real HTTP server that answers the restore-job paths of every family, the
 * listings of organizations' projects, projects' Flex clusters and projects' clusters, the
 * service-account token endpoints and its own control API, playing a scenario.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { handleApiRequest, type AtlasApiDeps } from "./atlas-api.js";
import { handleClustersRequest } from "./clusters-api.js";
import { handleListingRequest } from "./listing-api.js";
import { handleControlRequest, type ControlTarget } from "./control-api.js";
import { DigestAuthority } from "./digest-authority.js";
import { Exchange, type TimerSet } from "./exchange.js";
import type { Fault } from "./fault.js";
import { FaultRegistry, parseFault } from "./fault-registry.js";
import { oauthErrorReply } from "./oauth-endpoint.js";
import { handleOAuthRequest, type OAuthDeps } from "./oauth-handler.js";
import { apiErrorReply } from "./api-error.js";
import { jsonReply, type Reply } from "./reply.js";
import { parseRoute, routeKey } from "./route.js";
import { parseScenario, type Scenario } from "./scenario.js";
import { createSimClock, type ClockMode } from "./sim-clock.js";
import { StatsRecorder, type SimulatorStats } from "./stats.js";
import { TokenAuthority } from "./token-authority.js";
import { TokenBuckets } from "./token-bucket.js";
import { World } from "./world.js";

/** How to start a simulator. */
export interface SimulatorOptions {
  /** The scenario to play (see parseScenario / loadScenarioFile). */
  readonly scenario: Scenario;
  /** Default "127.0.0.1". */
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** Default "real"; with "manual", simulator time moves only through advance(). */
  readonly clock?: ClockMode;
  /** Epoch ms of the scenario's t=0; default: Date.now() at start. */
  readonly startTime?: number;
  /** Receives one debug line per request (method, path, status; never credentials). */
  readonly logger?: Logger;
}

/** A running simulator and the handles tests use to steer it. */
export interface Simulator {
  /** Base URL, e.g. "http://127.0.0.1:PORT". */
  readonly url: string;
  /** Simulator time, epoch ms. */
  now(): number;
  /** Moves simulator time forward (works with both clocks). */
  advance(seconds: number): void;
  /** Adds a fault after the existing ones; throws a ScenarioError for an invalid one. */
  addFault(fault: Fault): void;
  clearFaults(): void;
  /** Every bearer token issued so far now gets 401. */
  revokeAllTokens(): void;
  /** Every digest nonce issued so far is now stale (401 with stale=true). */
  expireNonces(): void;
  /** ISO string or epoch ms from which tenant paths answer 410; null = never. */
  setTenantSunset(date: string | number | null): void;
  stats(): SimulatorStats;
  resetStats(): void;
  /** Closes the server and all its sockets, stalled ones included. */
  close(): Promise<void>;
}

/** Largest request body read (token, revoke and control requests). */
const MAX_BODY_BYTES = 64 * 1024;

/** Everything a request may need, assembled once the server listens. */
interface Runtime {
  readonly api: AtlasApiDeps;
  readonly oauth: OAuthDeps;
  readonly control: ControlTarget;
  readonly stats: StatsRecorder;
  readonly timers: TimerSet;
  readonly logger: Logger | undefined;
  /** Simulator time, epoch ms. */
  now(): number;
}

/** Starts a simulator; resolves once it listens. */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const scenario = parseScenario(options.scenario);
  const host = options.host ?? "127.0.0.1";
  const clock = createSimClock(options.clock ?? "real", options.startTime ?? Date.now());
  const stats = new StatsRecorder();
  const timers: TimerSet = new Set();
  const faults = new FaultRegistry();
  for (const fault of scenario.faults) faults.add(fault);
  let tenantSunset = initialSunset(scenario, clock.startTime);
  const digest = new DigestAuthority({
    algorithm: scenario.digest.algorithm,
    users: new Map(scenario.apiKeys.map((k) => [k.publicKey, k.privateKey])),
    nonceTtlMs: scenario.digest.nonceTtlSeconds * 1000,
    now: clock.now,
  });
  const tokens = new TokenAuthority({
    clients: new Map(scenario.serviceAccounts.map((a) => [a.clientId, a.clientSecret])),
    ttlSeconds: scenario.tokenTtlSeconds,
    now: clock.now,
  });
  const deprecation = scenario.tenant.deprecation;

  const control: ControlTarget & Pick<Simulator, "resetStats"> = {
    now: clock.now,
    advance: (seconds) => clock.advance(seconds),
    addFault: (fault) => faults.add(parseFault(fault)),
    clearFaults: () => faults.clear(),
    revokeAllTokens: () => tokens.revokeAll(),
    expireNonces: () => digest.expireAll(),
    setTenantSunset: (date) => {
      tenantSunset = toEpochMs(date);
    },
    stats: () => ({ ...stats.snapshot(), liveTokens: tokens.liveCount() }),
    resetStats: () => stats.reset(),
  };

  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const deps: AtlasApiDeps = {
    world: new World(scenario),
    clock,
    digest,
    tokens,
    buckets: new TokenBuckets(scenario.rateLimit.capacity, scenario.rateLimit.refillPerMinute),
    faults,
    baseUrl: url,
    tenantSunset: () => tenantSunset,
    tenantDeprecation: deprecation === undefined ? undefined : Date.parse(deprecation),
  };
  const runtime: Runtime = {
    api: deps,
    oauth: { tokens, faults, stats, clock },
    control,
    stats,
    timers,
    logger: options.logger,
    now: clock.now,
  };
  server.on("request", (req: IncomingMessage, res: ServerResponse) => dispatch(runtime, req, res));

  let closing: Promise<void> | undefined;
  return {
    url,
    ...control,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/** Routes one request: control API, restore-job paths, clusters list, OAuth endpoints, or 404. */
function dispatch(rt: Runtime, req: IncomingMessage, res: ServerResponse): void {
  const route = parseRoute(req.url ?? "/");
  if (rt.logger) logRequests(rt.logger, req, res);
  // Atlas at simulator time: the Date header follows the simulator's clock, not the wall clock.
  res.sendDate = false;
  res.setHeader("date", new Date(rt.now()).toUTCString());
  if (route.kind === "control") {
    void readBody(req).then((body) => {
      sendPlain(
        res,
        body === undefined
          ? jsonReply(413, { error: "body too large" }, "application/json")
          : handleControlRequest(route.name, req.method ?? "GET", body, rt.control),
      );
    });
    return;
  }
  rt.stats.request(routeKey(route));
  if (route.kind === "api" && route.list) rt.stats.listed(route.groupId, route.clusterName);
  const ex = new Exchange(req, res, rt.stats, rt.timers);
  if (route.kind === "api") {
    req.resume();
    handleApiRequest(ex, route, rt.api);
  } else if (route.kind === "listing") {
    req.resume();
    handleListingRequest(ex, route, rt.api);
  } else if (route.kind === "clusters") {
    req.resume();
    handleClustersRequest(ex, route, rt.api);
  } else if (route.kind === "token" || route.kind === "revoke") {
    void readBody(req).then((body) => {
      if (body === undefined) {
        ex.send(oauthErrorReply(413, "invalid_request", "The request body is too large."));
      } else {
        handleOAuthRequest(ex, route.kind, body, rt.oauth);
      }
    });
  } else {
    req.resume();
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    ex.send(apiErrorReply(404, "RESOURCE_NOT_FOUND", `Cannot find resource ${path}.`));
  }
}

function initialSunset(scenario: Scenario, startTime: number): number | null {
  const { sunset, sunsetAfterSeconds } = scenario.tenant;
  if (typeof sunset === "string") return Date.parse(sunset);
  if (sunsetAfterSeconds !== undefined) return startTime + sunsetAfterSeconds * 1000;
  return null;
}

function toEpochMs(date: string | number | null): number | null {
  if (date === null) return null;
  const ms = typeof date === "number" ? date : Date.parse(date);
  if (!Number.isFinite(ms)) {
    throw new RangeError(`setTenantSunset: ${JSON.stringify(date)} is not an ISO date or epoch ms`);
  }
  return ms;
}

/** Reads a request body up to MAX_BODY_BYTES; undefined when larger or when the client leaves. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on("end", () =>
      resolve(size <= MAX_BODY_BYTES ? Buffer.concat(chunks).toString("utf8") : undefined),
    );
    req.on("error", () => resolve(undefined));
  });
}

/** Sends a control answer (not counted in the stats). */
function sendPlain(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  res.writeHead(reply.status, {
    ...reply.headers,
    "content-length": String(Buffer.byteLength(reply.body)),
  });
  res.end(reply.body);
}

function logRequests(logger: Logger, req: IncomingMessage, res: ServerResponse): void {
  const started = performance.now();
  // The path only: queries carry no secrets here, but a debug log needs no more.
  const path = (req.url ?? "/").split("?")[0];
  res.on("close", () => {
    logger.debug(
      {
        method: req.method,
        path,
        status: res.headersSent ? res.statusCode : undefined,
        durationMs: Math.round(performance.now() - started),
      },
      "simulator request",
    );
  });
}
