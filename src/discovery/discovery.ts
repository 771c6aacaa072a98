/**
 * Discovery: turns the `watch` entries into the set of clusters whose restore jobs are listed.
 * An organization is listed for its projects, a project for its Flex clusters, once per
 * discovery interval. A listing that fails keeps what the last good one found (a blip in Atlas
 * must not stop a watch); one that answers 404 drops what it held, since the organization or
 * project is gone.
 */
import { AtlasHttpError, isAtlasError } from "../atlas/errors.js";
import { dedicatedClusterNames, type ClusterSummary } from "../atlas/decode-clusters.js";
import type { FlexClusterSummary, ProjectSummary } from "../atlas/decode.js";
import type { WatchEntry } from "../config/settings.js";
import type { DiscoveryScope, Metrics } from "../http/metrics.js";
import type { Logger } from "../logger.js";
import type { PollContext } from "../polling/resilience.js";
import type { ClusterRef } from "../polling/poller.js";

/** Lists an organization's projects within a cycle (retried and paced). */
export type ListProjects = (orgId: string, context: PollContext) => Promise<ProjectSummary[]>;

/** Lists a project's Flex clusters within a cycle (retried and paced). */
export type ListClusters = (groupId: string, context: PollContext) => Promise<FlexClusterSummary[]>;

/** Lists every cluster of a project (dedicated and shared-tier) within a cycle. */
export type ListAllClusters = (groupId: string, context: PollContext) => Promise<ClusterSummary[]>;

/** What discovery needs. */
export interface DiscoveryOptions {
  readonly listProjects: ListProjects;
  readonly listClusters: ListClusters;
  /** When given, a watched project's dedicated clusters are watched too. */
  readonly listAllClusters?: ListAllClusters;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => number;
  /** Listings in flight at once. */
  readonly concurrency: number;
}

/** Where a watched project or cluster comes from. */
export type WatchSource = "configuration" | "organization" | "project";

/** The last listing of an organization or a project. */
export interface ListingStatus {
  /** When the listing last succeeded, epoch milliseconds. */
  readonly lastSuccessAt: number | undefined;
  /** The kind of the last failure, absent after a success. */
  readonly errorKind: string | undefined;
}

/** A watched organization and its last listing. */
export interface OrganizationStatus extends ListingStatus {
  readonly orgId: string;
  readonly projects: number;
}

/** A watched project, where it comes from, and its last listing. */
export interface ProjectStatus extends ListingStatus {
  readonly groupId: string;
  readonly source: WatchSource;
  /** The organization that listed it, when it comes from one. */
  readonly orgId: string | undefined;
  readonly clusters: number;
}

/** A watched cluster and where it comes from. */
export interface DiscoveredCluster extends ClusterRef {
  readonly source: WatchSource;
}

/** What discovery knows now. */
export interface DiscoverySnapshot {
  readonly organizations: readonly OrganizationStatus[];
  readonly projects: readonly ProjectStatus[];
  readonly clusters: readonly DiscoveredCluster[];
  /** When the last discovery round ended, epoch milliseconds. */
  readonly lastRoundAt: number | undefined;
}

interface Listed<T> {
  items?: readonly T[];
  lastSuccessAt?: number;
  errorKind?: string;
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Holds the watch entries and what their listings found. */
export class Discovery {
  readonly #options: DiscoveryOptions;
  #watch: readonly WatchEntry[] = [];
  readonly #orgs = new Map<string, Listed<ProjectSummary>>();
  readonly #projects = new Map<string, Listed<FlexClusterSummary>>();
  /** Each watched project's clusters list (`/clusters`), for its dedicated clusters. */
  readonly #allClusters = new Map<string, Listed<ClusterSummary>>();
  #clusters: DiscoveredCluster[] = [];
  #projectStatus: ProjectStatus[] = [];
  #lastRoundAt: number | undefined;
  #running: Promise<readonly DiscoveredCluster[]> | undefined;
  /** Bumped by every setWatch, so that a round started before a reload is not taken for one after. */
  #generation = 0;
  #runningGeneration = 0;

  constructor(options: DiscoveryOptions) {
    this.#options = options;
  }

  /** Replaces the watch entries; the next round lists what they name. */
  setWatch(watch: readonly WatchEntry[]): void {
    this.#watch = watch;
    this.#generation++;
    const orgs = new Set(watch.flatMap((e) => (e.kind === "organization" ? [e.orgId] : [])));
    for (const orgId of this.#orgs.keys()) if (!orgs.has(orgId)) this.#orgs.delete(orgId);
  }

  /** Whether a round is running. */
  get running(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Lists every watched organization, then every project, and returns the clusters to watch.
   * A round already running is joined rather than doubled, unless the watch entries changed
   * since it started: then a new round follows it.
   */
  round(context: PollContext): Promise<readonly DiscoveredCluster[]> {
    if (this.#running) {
      if (this.#runningGeneration === this.#generation) return this.#running;
      return this.#running.then(() => this.round(context));
    }
    this.#runningGeneration = this.#generation;
    this.#running = this.#round(context).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #round(context: PollContext): Promise<readonly DiscoveredCluster[]> {
    const { concurrency } = this.#options;
    const watch = this.#watch;
    const orgIds = unique(watch.flatMap((e) => (e.kind === "organization" ? [e.orgId] : [])));
    await forEachLimit(orgIds, concurrency, async (orgId) => {
      const listed = this.#orgs.get(orgId) ?? {};
      this.#orgs.set(orgId, listed);
      await this.#listInto(listed, "organization", { orgId }, context, () =>
        this.#options.listProjects(orgId, context),
      );
    });
    if (context.signal.aborted) return this.#clusters;

    // Projects named in the configuration first, then those of each organization.
    const projects = new Map<string, { source: WatchSource; orgId: string | undefined }>();
    for (const entry of watch) {
      if (entry.kind === "project")
        projects.set(entry.groupId, { source: "configuration", orgId: undefined });
    }
    for (const orgId of orgIds) {
      for (const project of this.#orgs.get(orgId)?.items ?? []) {
        if (!projects.has(project.id)) projects.set(project.id, { source: "organization", orgId });
      }
    }
    for (const groupId of this.#projects.keys()) {
      if (!projects.has(groupId)) this.#projects.delete(groupId);
    }
    for (const groupId of this.#allClusters.keys()) {
      if (!projects.has(groupId)) this.#allClusters.delete(groupId);
    }
    await forEachLimit([...projects.keys()], concurrency, async (groupId) => {
      const listed = this.#projects.get(groupId) ?? {};
      this.#projects.set(groupId, listed);
      await this.#listInto(listed, "project", { groupId }, context, () =>
        this.#options.listClusters(groupId, context),
      );
      const listAll = this.#options.listAllClusters;
      if (listAll === undefined || context.signal.aborted) return;
      const all = this.#allClusters.get(groupId) ?? {};
      this.#allClusters.set(groupId, all);
      // The clusters list has been seen to answer 404 CLUSTER_NOT_FOUND briefly during a tier
      // change: that one keeps what the last good listing found.
      await this.#listInto(
        all,
        "project",
        { groupId },
        context,
        () => listAll(groupId, context),
        "CLUSTER_NOT_FOUND",
      );
    });
    if (context.signal.aborted) return this.#clusters;

    const clusters = new Map<string, DiscoveredCluster>();
    const add = (cluster: DiscoveredCluster): void => {
      const key = `${cluster.groupId}/${cluster.clusterName}`;
      if (!clusters.has(key)) clusters.set(key, cluster);
    };
    for (const entry of watch) {
      if (entry.kind === "cluster") {
        add({ groupId: entry.groupId, clusterName: entry.clusterName, source: "configuration" });
      }
    }
    for (const [groupId, { source }] of projects) {
      const flex = this.#projects.get(groupId)?.items ?? [];
      for (const cluster of flex) {
        add({
          groupId,
          clusterName: cluster.name,
          source: source === "configuration" ? "project" : "organization",
        });
      }
      // Dedicated clusters (AWS, AZURE, GCP); a name also on the Flex list stays Flex.
      const all = this.#allClusters.get(groupId)?.items ?? [];
      const flexNames = flex.map((cluster) => cluster.name);
      for (const clusterName of dedicatedClusterNames(all, flexNames)) {
        add({
          groupId,
          clusterName,
          api: "dedicated",
          source: source === "configuration" ? "project" : "organization",
        });
      }
    }
    this.#report([...clusters.values()]);
    this.#projectStatus = [...projects].map(([groupId, { source, orgId }]) => {
      const listed = this.#projects.get(groupId);
      return {
        groupId,
        source,
        orgId,
        lastSuccessAt: listed?.lastSuccessAt,
        errorKind: listed?.errorKind,
        clusters: listed?.items?.length ?? 0,
      };
    });
    this.#lastRoundAt = this.#options.now();
    return this.#clusters;
  }

  /** Logs the clusters that start or stop being watched, and keeps the new set. */
  #report(next: DiscoveredCluster[]): void {
    const { logger } = this.#options;
    const key = (c: ClusterRef) => `${c.groupId}/${c.clusterName}`;
    const before = new Map(this.#clusters.map((c) => [key(c), c]));
    const after = new Map(next.map((c) => [key(c), c]));
    for (const [k, cluster] of after) {
      if (!before.has(k)) {
        logger.info(
          {
            event: "cluster_watch_started",
            groupId: cluster.groupId,
            clusterName: cluster.clusterName,
            api: cluster.api ?? "flex",
            source: cluster.source,
          },
          "watching a cluster's restore jobs",
        );
      }
    }
    for (const [k, cluster] of before) {
      if (!after.has(k)) {
        logger.info(
          {
            event: "cluster_watch_stopped",
            groupId: cluster.groupId,
            clusterName: cluster.clusterName,
            api: cluster.api ?? "flex",
          },
          "no longer watching a cluster's restore jobs",
        );
      }
    }
    this.#clusters = next;
  }

  /**
   * Runs one listing into `listed`: items on success, nothing on 404 (but a 404 with
   * `transientCode`, which keeps the old items), the old items otherwise.
   */
  async #listInto<T>(
    listed: Listed<T>,
    scope: DiscoveryScope,
    owner: { orgId: string } | { groupId: string },
    context: PollContext,
    list: () => Promise<T[]>,
    transientCode?: string,
  ): Promise<void> {
    const { metrics, logger, now } = this.#options;
    try {
      listed.items = await list();
      listed.lastSuccessAt = now();
      delete listed.errorKind;
      metrics.discoverySucceeded(scope, listed.lastSuccessAt);
    } catch (error) {
      if (context.signal.aborted) return;
      metrics.discoveryFailed(scope);
      const atlasError = isAtlasError(error) ? error : undefined;
      const http = atlasError instanceof AtlasHttpError ? atlasError : undefined;
      const kind = atlasError?.kind ?? "internal";
      const gone = http?.status === 404 && http.errorCode !== transientCode;
      if (gone) listed.items = [];
      if (listed.errorKind !== kind) {
        logger.warn(
          {
            event: "discovery_error",
            scope,
            ...owner,
            errorKind: kind,
            status: http?.status,
            errorCode: http?.errorCode,
            detail: http?.detail,
            error: error instanceof Error ? error.message : String(error),
          },
          gone
            ? "discovery listing not found; what it held is no longer watched"
            : "discovery listing failed; keeping what the last one found",
        );
      }
      listed.errorKind = kind;
    }
  }

  /** What discovery knows now, as plain data. */
  snapshot(): DiscoverySnapshot {
    return {
      organizations: [...this.#orgs].map(([orgId, listed]) => ({
        orgId,
        lastSuccessAt: listed.lastSuccessAt,
        errorKind: listed.errorKind,
        projects: listed.items?.length ?? 0,
      })),
      projects: this.#projectStatus,
      clusters: this.#clusters,
      lastRoundAt: this.#lastRoundAt,
    };
  }
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
