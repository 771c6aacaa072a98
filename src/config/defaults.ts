/** Default values of the optional settings, shared by the loader and the `--help` text. */
import { DEFAULT_BASE_URL } from "../atlas/endpoints.js";
import { DEFAULT_TIMEOUTS } from "../atlas/transport.js";
import type { ApiMode } from "./settings.js";

/** Log levels pino knows, most severe first, plus `silent`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** The API modes, for validation and messages. */
export const API_MODES: readonly ApiMode[] = ["auto", "tenant", "flex", "dedicated"];

/** Fewest and most requests in flight at once. */
export const CONCURRENCY_RANGE = { min: 1, max: 64 } as const;

/** Longest accepted request timeout: a poller must not hang on one call for longer. */
export const MAX_TIMEOUT_MS = 5 * 60_000;

/** Shortest accepted discovery interval. */
export const MIN_DISCOVERY_INTERVAL_MS = 1_000;

/** Every default, as written in the configuration file. */
export const CONFIG_DEFAULTS = {
  schedule: "*/30 * * * * *",
  api: "auto",
  // The tenant endpoints' x-sunset in the Atlas specification.
  tenantSunset: "2026-01-22",
  listen: "0.0.0.0:9917",
  stateFile: "data/state.json",
  concurrency: 8,
  finishedRetention: "24h",
  discoveryInterval: "5m",
  enableLifecycle: false,
  logLevel: "info",
  baseUrl: DEFAULT_BASE_URL,
  timeouts: DEFAULT_TIMEOUTS,
} as const satisfies Record<string, unknown> & { api: ApiMode };
