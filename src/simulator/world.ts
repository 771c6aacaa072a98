/**
 * The simulated Atlas projects: clusters and their restore jobs, indexed for O(1) lookup by
 * path, and the rules that decide, at a given simulator time, what each family may see.
 */
import { createHash } from "node:crypto";
import type { ApiFamily } from "../atlas/model.js";
import type { Scenario, ScenarioCluster, ScenarioJob, ScenarioProject } from "./scenario.js";

/** One step of a job's script: from `at` seconds on, the job shows `status`. */
export interface ScriptStep {
  readonly at: number;
  readonly status: string;
}

/** A restore job with every default of the scenario filled in. */
export interface SimJob {
  readonly groupId: string;
  readonly clusterName: string;
  readonly id: string;
  /** RESTORE or DOWNLOAD; on a dedicated cluster automated, download or pointInTime. */
  readonly deliveryType: NonNullable<ScenarioJob["deliveryType"]>;
  readonly snapshotId: string;
  readonly targetProjectId: string;
  readonly targetDeploymentItemName: string;
  /** Seconds since t=0 from which the job exists. */
  readonly createdAt: number;
  readonly script: readonly ScriptStep[];
}

/** A cluster and its jobs, in scenario order. */
export interface SimCluster {
  readonly groupId: string;
  readonly name: string;
  readonly kind: "tenant" | "flex" | "dedicated";
  /** A dedicated cluster's cloud provider (AWS, AZURE, GCP). */
  readonly providerName: string;
  /** Seconds since t=0 from which a tenant cluster is a flex cluster. */
  readonly convertedAt: number | undefined;
  readonly tenantApi: "serve" | "reject";
  /** Seconds since t=0 from which the cluster exists, and from which it no longer does. */
  readonly createdAt: number;
  readonly deletedAt: number | undefined;
  readonly jobs: ReadonlyMap<string, SimJob>;
  readonly jobList: readonly SimJob[];
}

/** What the status of a job is at some time, and since when. */
export interface JobState {
  readonly status: string;
  /** Seconds since t=0 at which the job reached this status (never before its creation). */
  readonly since: number;
}

/** The outcome of resolving a path's group and cluster for one family at one time. */
export type ClusterLookup =
  | { readonly kind: "ok"; readonly cluster: SimCluster }
  | {
      readonly kind: "error";
      readonly status: 400 | 404;
      readonly errorCode: string;
      readonly detail: string;
    };

/** A project and the span of simulator time in which it exists. */
export interface SimProject {
  readonly id: string;
  readonly orgId: string;
  readonly name: string;
  readonly createdAt: number;
  readonly deletedAt: number | undefined;
}

/** The outcome of looking up an organization's or a project's listing. */
export type ListingLookup<T> =
  | { readonly kind: "ok"; readonly items: readonly T[] }
  | {
      readonly kind: "error";
      readonly status: 404;
      readonly errorCode: string;
      readonly detail: string;
    };

/** Whether something created at `createdAt` and deleted at `deletedAt` exists at `t`. */
function existsAt(item: { createdAt: number; deletedAt: number | undefined }, t: number): boolean {
  return item.createdAt <= t && (item.deletedAt === undefined || t < item.deletedAt);
}

/** Derives a stable 24-hex id from a seed, for defaults such as a job's snapshot id. */
export function derivedId(seed: string): string {
  return createHash("sha256").update(seed).digest("hex").slice(0, 24);
}

/** The indexed projects of one scenario. */
export class World {
  private readonly groups = new Map<string, Map<string, SimCluster>>();
  private readonly allJobIds: string[] = [];
  private readonly projects = new Map<string, SimProject>();
  private readonly orgs = new Map<string, SimProject[]>();

  constructor(scenario: Scenario) {
    scenario.projects.forEach((spec: ScenarioProject, index) => {
      const project: SimProject = {
        id: spec.id,
        orgId: spec.orgId,
        name: spec.name ?? `Project${index}`,
        createdAt: spec.createdAfterSeconds,
        deletedAt: spec.deletedAfterSeconds,
      };
      this.projects.set(project.id, project);
      const siblings = this.orgs.get(project.orgId) ?? [];
      siblings.push(project);
      this.orgs.set(project.orgId, siblings);
    });
    const clusters = new Map<string, { spec: ScenarioCluster; jobs: SimJob[] }>();
    const key = (groupId: string, name: string): string => `${groupId}/${name}`;
    for (const spec of scenario.clusters)
      clusters.set(key(spec.groupId, spec.name), { spec, jobs: [] });
    const isDedicated = (groupId: string, name: string): boolean =>
      clusters.get(key(groupId, name))?.spec.kind === "dedicated";
    for (const job of scenario.jobs) {
      const k = key(job.groupId, job.clusterName);
      let entry = clusters.get(k);
      if (!entry) {
        entry = {
          spec: {
            groupId: job.groupId,
            name: job.clusterName,
            kind: "tenant",
            tenantApi: "serve",
            createdAfterSeconds: Number.NEGATIVE_INFINITY,
          },
          jobs: [],
        };
        clusters.set(k, entry);
      }
      this.allJobIds.push(job.id);
      entry.jobs.push({
        groupId: job.groupId,
        clusterName: job.clusterName,
        id: job.id,
        deliveryType:
          job.deliveryType ?? (isDedicated(job.groupId, job.clusterName) ? "automated" : "RESTORE"),
        snapshotId: job.snapshotId ?? derivedId(`snapshot:${job.id}`),
        targetProjectId: job.targetProjectId ?? job.groupId,
        targetDeploymentItemName:
          job.targetDeploymentItemName ?? `${job.clusterName.slice(0, 56)}-restore`,
        createdAt: job.createdAfterSeconds,
        script: job.script.map((s) => ({ at: s.afterSeconds, status: s.status })),
      });
    }
    for (const { spec, jobs } of clusters.values()) {
      let group = this.groups.get(spec.groupId);
      if (!group) {
        group = new Map();
        this.groups.set(spec.groupId, group);
      }
      group.set(spec.name, {
        groupId: spec.groupId,
        name: spec.name,
        kind: spec.kind,
        providerName: spec.providerName ?? "AWS",
        convertedAt: spec.convertedToFlexAfterSeconds,
        tenantApi: spec.tenantApi,
        createdAt: spec.createdAfterSeconds,
        deletedAt: spec.deletedAfterSeconds,
        jobs: new Map(jobs.map((j) => [j.id, j])),
        jobList: jobs,
      });
    }
  }

  /**
   * Finds the cluster a path names and checks that `family` may read it at `t` (seconds since
   * t=0). The tenant sunset is not checked here.
   */
  cluster(family: ApiFamily, groupId: string, name: string, t: number): ClusterLookup {
    const group = this.groups.get(groupId);
    if (!this.groupExists(groupId, t)) {
      return notFound("GROUP_NOT_FOUND", `No group with ID ${groupId} exists.`);
    }
    const cluster = group?.get(name);
    if (!cluster || !existsAt(cluster, t)) {
      // Atlas may name a missing flex cluster differently; unconfirmed, CLUSTER_NOT_FOUND for both.
      return notFound("CLUSTER_NOT_FOUND", `No cluster named ${name} exists in group ${groupId}.`);
    }
    const flex = isFlexAt(cluster, t);
    if (family === "dedicated") return dedicatedLookup(cluster, flex);
    if (family === "tenant" && cluster.kind === "dedicated") {
      // What a tenant path answers for a dedicated cluster is unconfirmed (those paths are gone).
      return notFound("CLUSTER_NOT_FOUND", `No tenant cluster named ${name} exists.`);
    }
    if (family === "flex" && !flex) {
      return {
        kind: "error",
        status: 400,
        errorCode: "CANNOT_USE_NON_FLEX_CLUSTER_IN_FLEX_API",
        detail: `Cluster ${name} is not a flex cluster; use the cluster API.`,
      };
    }
    if (family === "tenant" && flex && cluster.tenantApi === "reject") {
      return {
        kind: "error",
        status: 400,
        errorCode: "CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API",
        detail: `Cluster ${name} is a flex cluster; use the flex cluster API.`,
      };
    }
    return { kind: "ok", cluster };
  }

  /**
   * Whether a project exists at `t`: one listed under `projects` within its lifetime, or one
   * that only clusters or jobs name (older scenarios list no projects).
   */
  groupExists(groupId: string, t: number): boolean {
    const project = this.projects.get(groupId);
    return project ? existsAt(project, t) : this.groups.has(groupId);
  }

  /** The projects of an organization that exist at `t`, in scenario order. */
  projectsOf(orgId: string, t: number): ListingLookup<SimProject> {
    const projects = this.orgs.get(orgId);
    if (!projects) {
      // Atlas's errorCode for an unknown organization is unconfirmed.
      return notFound("ORG_NOT_FOUND", `No organization with ID ${orgId} exists.`);
    }
    return { kind: "ok", items: projects.filter((p) => existsAt(p, t)) };
  }

  /** The Flex clusters of a project at `t` (converted tenant clusters included), in scenario order. */
  flexClustersOf(groupId: string, t: number): ListingLookup<SimCluster> {
    if (!this.groupExists(groupId, t)) {
      return notFound("GROUP_NOT_FOUND", `No group with ID ${groupId} exists.`);
    }
    const clusters = [...(this.groups.get(groupId)?.values() ?? [])];
    return { kind: "ok", items: clusters.filter((c) => existsAt(c, t) && isFlexAt(c, t)) };
  }

  /**
   * The clusters `GET /groups/{groupId}/clusters` lists at `t`: dedicated and tenant ones, or
   * undefined for a project that does not exist.
   */
  clustersOf(groupId: string, t: number): SimCluster[] | undefined {
    if (!this.groupExists(groupId, t)) return undefined;
    const clusters = [...(this.groups.get(groupId)?.values() ?? [])];
    // Whether Atlas also lists Flex clusters here is unconfirmed; the simulator does not.
    return clusters.filter((c) => existsAt(c, t) && !isFlexAt(c, t));
  }

  /** The jobs of a cluster that exist at `t`, in scenario order. */
  jobsAt(cluster: SimCluster, t: number): SimJob[] {
    return cluster.jobList.filter((j) => j.createdAt <= t);
  }

  /**
   * The jobs of a cluster that exist at `t`, newest first as Atlas lists Flex restore jobs (by
   * scheduled date; among equals, the one later in the scenario first).
   */
  jobsNewestFirst(cluster: SimCluster, t: number): SimJob[] {
    return this.jobsAt(cluster, t)
      .map((job, index) => ({ job, index }))
      .sort((a, b) => b.job.createdAt - a.job.createdAt || b.index - a.index)
      .map(({ job }) => job);
  }

  /** The job `id` of a cluster if it exists at `t`. */
  jobAt(cluster: SimCluster, id: string, t: number): SimJob | undefined {
    const job = cluster.jobs.get(id);
    return job && job.createdAt <= t ? job : undefined;
  }

  /** An id of some other job than `id` (another scenario job if there is one), for `wrong_id`. */
  otherJobId(id: string): string {
    return this.allJobIds.find((other) => other !== id) ?? derivedId(`other:${id}`);
  }
}

/** Whether a cluster is a flex cluster at `t` (seconds since t=0). */
export function isFlexAt(cluster: SimCluster, t: number): boolean {
  return cluster.kind === "flex" || (cluster.convertedAt !== undefined && t >= cluster.convertedAt);
}

/**
 * The status a job shows at `t`: the last script step at or before `t` (the first step's status
 * before that), and since when it has shown it.
 */
export function jobStateAt(job: SimJob, t: number): JobState {
  const steps = job.script;
  let index = 0;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (step && step.at <= t) index = i;
  }
  const status = steps[index]?.status ?? "PENDING";
  // Consecutive steps with the same status count as one: the job reached it at the first.
  while (index > 0 && steps[index - 1]?.status === status) index--;
  return { status, since: Math.max(steps[index]?.at ?? 0, job.createdAt) };
}

/** Whether the dedicated family may read `cluster`: only a dedicated cluster's jobs. */
function dedicatedLookup(cluster: SimCluster, flex: boolean): ClusterLookup {
  if (cluster.kind === "dedicated") return { kind: "ok", cluster };
  if (flex) {
    return {
      kind: "error",
      status: 400,
      errorCode: "CANNOT_USE_FLEX_CLUSTER_IN_CLUSTER_API",
      detail: `Cluster ${cluster.name} is a flex cluster; use the flex cluster API.`,
    };
  }
  // What a shared-tier (M2/M5) cluster answers here is unconfirmed; none exist since 2026-01-22.
  return notFound("CLUSTER_NOT_FOUND", `No dedicated cluster named ${cluster.name} exists.`);
}

function notFound(
  errorCode: string,
  detail: string,
): { kind: "error"; status: 404; errorCode: string; detail: string } {
  return { kind: "error", status: 404, errorCode, detail };
}
