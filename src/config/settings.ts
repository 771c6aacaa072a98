/** The daemon's effective settings, after the file, the environment and defaults are merged. */
import type { JobRef } from "../atlas/model.js";
import type { Timeouts } from "../atlas/transport.js";

/**
 * Which restore endpoint to use: a fixed family, or `auto` (tenant before the sunset, then Flex;
 * never dedicated, which only configuration chooses).
 */
export type ApiMode = "auto" | "tenant" | "flex" | "dedicated";

/** Service account (OAuth 2.0 client credentials) or API key (HTTP Digest). */
export type Credentials =
  | { readonly kind: "serviceAccount"; readonly clientId: string; readonly clientSecret: string }
  | { readonly kind: "apiKey"; readonly publicKey: string; readonly privateKey: string };

/** One configured restore job. */
export interface JobSettings extends JobRef {
  /** Overrides the global mode for this job. */
  readonly api?: ApiMode;
}

/**
 * One thing to discover restore jobs in: every project of an organization, every Flex cluster of
 * a project, or one Flex cluster.
 */
export type WatchEntry =
  | { readonly kind: "organization"; readonly orgId: string }
  | { readonly kind: "project"; readonly groupId: string }
  | { readonly kind: "cluster"; readonly groupId: string; readonly clusterName: string };

/** Where the metrics and health server listens. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

/** Everything the daemon needs to run. */
export interface Settings {
  /** The file the settings were read from, if any. */
  readonly configFile: string | undefined;
  /** node-cron expression, optional seconds field. */
  readonly schedule: string;
  readonly api: ApiMode;
  /** The tenant endpoint's sunset, epoch milliseconds (UTC midnight of the configured date). */
  readonly tenantSunset: number;
  readonly listen: ListenAddress;
  readonly stateFile: string;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** How long a finished job's series stay exported. */
  readonly finishedRetentionMs: number;
  readonly logLevel: string;
  readonly baseUrl: string;
  /** Set when an `http://` base URL on a host other than loopback was allowed on purpose. */
  readonly allowInsecureHttp?: boolean;
  /**
   * `/healthz` fails when no poll cycle has finished for this long; by default five intervals of
   * the schedule, and at least five minutes (see health.ts).
   */
  readonly healthStaleAfterMs?: number;
  readonly timeouts: Timeouts;
  readonly credentials: Credentials;
  /** Restore jobs named one by one; may be empty. */
  readonly jobs: readonly JobSettings[];
  /** What to discover restore jobs in; may be empty. */
  readonly watch: readonly WatchEntry[];
  /** How often organizations and projects are listed again. */
  readonly discoveryIntervalMs: number;
  /** Whether `POST /-/reload` is served (as Prometheus's --web.enable-lifecycle). */
  readonly enableLifecycle: boolean;
}
