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
};

/** The listings of discovery: an organization's projects and a project's Flex clusters. */
export type Listing = "projects" | "flexClusters";

/** The versioned media type of each listing (getOrgGroups 2023-01-01, listGroupFlexClusters 2024-11-13). */
export const LISTING_MEDIA_TYPES: Readonly<Record<Listing, string>> = {
  projects: "application/vnd.atlas.2023-01-01+json",
  flexClusters: "application/vnd.atlas.2024-11-13+json",
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

/** Largest page the Flex LIST endpoint serves. */
export const FLEX_MAX_ITEMS_PER_PAGE = 500;

/** Path of all restore jobs of one cluster on one family. */
export function restoreJobsPath(api: ApiFamily, groupId: string, clusterName: string): string {
  return api === "tenant"
    ? `/api/atlas/v2/groups/${enc(groupId)}/clusters/${enc(clusterName)}/backup/tenant/restores`
    : `/api/atlas/v2/groups/${enc(groupId)}/flexClusters/${enc(clusterName)}/backup/restoreJobs`;
}

/** Path of one restore job on one family. */
export function restoreJobPath(api: ApiFamily, ref: JobRef): string {
  return `${restoreJobsPath(api, ref.groupId, ref.clusterName)}/${enc(ref.restoreId)}`;
}
