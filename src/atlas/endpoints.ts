/**
 * The one place that knows Atlas's paths and versioned media types for restore jobs, the
 * listings that discover them (an organization's projects, a project's Flex clusters) and
 * service-account tokens (see the Atlas Administration API v2 specification).
 */
import type { ApiFamily, JobRef } from "./model.js";

const enc = encodeURIComponent;

/** The default Atlas base URL. */
export const DEFAULT_BASE_URL = "https://cloud.mongodb.com";

/** The versioned media type each family is served under; Atlas answers 406 without it. */
export const MEDIA_TYPES: Readonly<Record<ApiFamily, string>> = {
  tenant: "application/vnd.atlas.2023-01-01+json",
  flex: "application/vnd.atlas.2024-11-13+json",
  dedicated: "application/vnd.atlas.2023-01-01+json",
};

/**
 * The media type of a project's clusters list (ClusterDescription20240805; the 2023-01-01 and
 * 2023-02-01 versions are announced to sunset on 2027-07-01).
 */
export const CLUSTERS_MEDIA_TYPE = "application/vnd.atlas.2024-08-05+json";

/**
 * Atlas's rate-limit set each family's restore reads draw on, per project. Dedicated reads share
 * "Cloud Backups" (capacity 1,200, 500 a minute) with every other backup call of the project.
 */
export const RATE_LIMIT_SETS: Readonly<Record<ApiFamily, string>> = {
  tenant: "tenantRestores",
  flex: "flexRestoreJobs",
  dedicated: "cloudBackups",
};

/** The role the specification asks for to read each family's restore jobs. */
export const REQUIRED_ROLES: Readonly<Record<ApiFamily, string>> = {
  tenant: "Project Read Only",
  flex: "Project Read Only",
  dedicated: "Project Backup Manager",
};

/** The listings of discovery: an organization's projects and a project's Flex clusters. */
export type Listing = "projects" | "flexClusters" | "clusters";

/** The versioned media type of each listing (getOrgGroups 2023-01-01, listGroupFlexClusters 2024-11-13). */
export const LISTING_MEDIA_TYPES: Readonly<Record<Listing, string>> = {
  projects: "application/vnd.atlas.2023-01-01+json",
  flexClusters: "application/vnd.atlas.2024-11-13+json",
  clusters: "application/vnd.atlas.2024-08-05+json",
};

/** Largest page any Atlas list serves. */
export const MAX_ITEMS_PER_PAGE = 500;

/** Path of the projects of an organization (needs Organization Member). */
export function orgProjectsPath(orgId: string): string {
  return `/api/atlas/v2/orgs/${enc(orgId)}/groups`;
}

/** Path of the Flex clusters of a project (needs Project Read Only). */
export function flexClustersPath(groupId: string): string {
  return `/api/atlas/v2/groups/${enc(groupId)}/flexClusters`;
}

/** Service-account token endpoint (OAuth 2.0 client credentials). */
export const TOKEN_PATH = "/api/oauth/token";

/** Service-account token revocation endpoint. */
export const REVOKE_PATH = "/api/oauth/revoke";

/** Largest page the Flex and dedicated LIST endpoints (and every Atlas list) serve. */
export const FLEX_MAX_ITEMS_PER_PAGE = 500;

/** Path of all restore jobs of one cluster on one family. */
export function restoreJobsPath(api: ApiFamily, groupId: string, clusterName: string): string {
  const group = `/api/atlas/v2/groups/${enc(groupId)}`;
  switch (api) {
    case "tenant":
      return `${group}/clusters/${enc(clusterName)}/backup/tenant/restores`;
    case "flex":
      return `${group}/flexClusters/${enc(clusterName)}/backup/restoreJobs`;
    case "dedicated":
      return `${group}/clusters/${enc(clusterName)}/backup/restoreJobs`;
  }
}

/** Path of every cluster of a project (dedicated, and the old shared tier as `TENANT`). */
export function clustersPath(groupId: string): string {
  return `/api/atlas/v2/groups/${enc(groupId)}/clusters`;
}

/** Path of one restore job on one family. */
export function restoreJobPath(api: ApiFamily, ref: JobRef): string {
  return `${restoreJobsPath(api, ref.groupId, ref.clusterName)}/${enc(ref.restoreId)}`;
}
