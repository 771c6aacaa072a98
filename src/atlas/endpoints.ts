/**
 * The one place that knows Atlas's paths and versioned media types for restore jobs and
 * service-account tokens (see the Atlas Administration API v2 specification).
 */
import type { ApiFamily, JobRef } from "./model.js";

/** The default Atlas base URL. */
export const DEFAULT_BASE_URL = "https://cloud.mongodb.com";

/** The versioned media type each family is served under; Atlas answers 406 without it. */
export const MEDIA_TYPES: Readonly<Record<ApiFamily, string>> = {
  tenant: "application/vnd.atlas.2023-01-01+json",
  flex: "application/vnd.atlas.2024-11-13+json",
};

/** Service-account token endpoint (OAuth 2.0 client credentials). */
export const TOKEN_PATH = "/api/oauth/token";

/** Service-account token revocation endpoint. */
export const REVOKE_PATH = "/api/oauth/revoke";

/** Largest page the Flex LIST endpoint serves. */
export const FLEX_MAX_ITEMS_PER_PAGE = 500;

const enc = encodeURIComponent;

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
