/**
 * What the daemon watches, as plain data for the status page: organizations, projects and
 * clusters with their last listing, and the last configuration reload.
 */
import type { ApiFamily } from "../atlas/model.js";
import type { ClusterListing } from "../polling/poller.js";
import type {
  DiscoverySnapshot,
  OrganizationStatus,
  ProjectStatus,
  WatchSource,
} from "./discovery.js";

/** A watched cluster: where it comes from and how its last LIST went. */
export interface ClusterStatus {
  readonly groupId: string;
  readonly clusterName: string;
  readonly api: ApiFamily;
  readonly source: WatchSource;
  /** `ok` after a successful LIST, `error` after a failed one, `gone` after a 404, `pending` before the first. */
  readonly lastResult: "ok" | "error" | "gone" | "pending";
  /** When the last LIST succeeded, epoch milliseconds. */
  readonly lastSuccessAt: number | undefined;
  /** The kind of the last failure, absent after a success. */
  readonly errorKind: string | undefined;
  /** Jobs on the pages the last successful LIST read, and how many pages that was. */
  readonly jobs: number;
  readonly pages: number;
}

/** The last configuration load (at start) or reload. */
export interface ReloadStatus {
  /** When it happened, epoch milliseconds. */
  readonly at: number;
  readonly successful: boolean;
  /** The problem lines of a failed reload (`key: message`), as `/-/reload` answers them. */
  readonly problems: readonly string[];
  /** Settings that changed in the file but need a restart to apply. */
  readonly restartRequired: readonly string[];
}

/** Everything the status page shows about what is watched. */
export interface WatchStatus {
  readonly organizations: readonly OrganizationStatus[];
  readonly projects: readonly ProjectStatus[];
  readonly clusters: readonly ClusterStatus[];
  /** When the last discovery round ended, epoch milliseconds. */
  readonly lastDiscoveryAt: number | undefined;
  readonly lastReload: ReloadStatus | undefined;
}

/** Joins discovery's view and the poller's listings into one WatchStatus. */
export function watchStatus(
  discovery: DiscoverySnapshot,
  listings: readonly ClusterListing[],
  lastReload: ReloadStatus | undefined,
): WatchStatus {
  const byKey = new Map(listings.map((l) => [`${l.groupId}/${l.clusterName}`, l]));
  return {
    organizations: discovery.organizations,
    projects: discovery.projects,
    clusters: discovery.clusters.map((cluster) => {
      const listing = byKey.get(`${cluster.groupId}/${cluster.clusterName}`);
      const lastResult = listing?.gone
        ? "gone"
        : listing?.errorKind !== undefined
          ? "error"
          : listing?.lastSuccessAt !== undefined
            ? "ok"
            : "pending";
      return {
        groupId: cluster.groupId,
        clusterName: cluster.clusterName,
        api: "flex",
        source: cluster.source,
        lastResult,
        lastSuccessAt: listing?.lastSuccessAt,
        errorKind: listing?.errorKind,
        jobs: listing?.jobs ?? 0,
        pages: listing?.pages ?? 0,
      };
    }),
    lastDiscoveryAt: discovery.lastRoundAt,
    lastReload,
  };
}
