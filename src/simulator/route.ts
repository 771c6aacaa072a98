/** Maps a request target onto what the simulator serves, in constant time per request. */
import type { ApiFamily } from "../atlas/model.js";
import { REVOKE_PATH, TOKEN_PATH } from "../atlas/endpoints.js";

/** The `byRoute` keys of the stats. */
export type RouteKey =
  | "tenant.get"
  | "tenant.list"
  | "flex.get"
  | "flex.list"
  | "dedicated.get"
  | "dedicated.list"
  | "groups.list"
  | "flexClusters.list"
  | "clusters.list"
  | "token"
  | "revoke"
  | "other";

/** A listing used for discovery: an organization's projects, or a project's Flex clusters. */
export interface ListingRoute {
  readonly kind: "listing";
  /** `groups`: GET /orgs/{orgId}/groups; `flexClusters`: GET /groups/{groupId}/flexClusters. */
  readonly listing: "groups" | "flexClusters";
  /** The organization's or the project's id (decoded, not yet validated). */
  readonly ownerId: string;
  readonly path: string;
  readonly query: URLSearchParams;
}

/** `GET /groups/{groupId}/clusters`: a project's clusters (dedicated, and shared-tier as TENANT). */
export interface ClustersRoute {
  readonly kind: "clusters";
  /** The project's id (decoded, not yet validated). */
  readonly groupId: string;
  readonly path: string;
  readonly query: URLSearchParams;
}

/** A restore-job path of any family, with its (decoded, not yet validated) parameters. */
export interface ApiRoute {
  readonly kind: "api";
  readonly family: ApiFamily;
  /** LIST (all jobs of a cluster) rather than GET one. */
  readonly list: boolean;
  readonly groupId: string;
  readonly clusterName: string;
  readonly restoreId?: string;
  readonly path: string;
  readonly query: URLSearchParams;
}

/** Where a request goes. */
export type Route =
  | ApiRoute
  | ListingRoute
  | ClustersRoute
  | { readonly kind: "token" | "revoke" }
  | { readonly kind: "control"; readonly name: string }
  | { readonly kind: "other" };

/** The prefix of the simulator's own control API. */
export const CONTROL_PREFIX = "/_sim/";

const API_PATH =
  /^\/api\/atlas\/v2\/groups\/([^/]+)\/(?:clusters\/([^/]+)\/backup\/tenant\/restores|flexClusters\/([^/]+)\/backup\/restoreJobs|clusters\/([^/]+)\/backup\/restoreJobs)(?:\/([^/]+))?$/;

const CLUSTERS_PATH = /^\/api\/atlas\/v2\/groups\/([^/]+)\/clusters$/;

const ORG_GROUPS_PATH = /^\/api\/atlas\/v2\/orgs\/([^/]+)\/groups$/;
const FLEX_CLUSTERS_PATH = /^\/api\/atlas\/v2\/groups\/([^/]+)\/flexClusters$/;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    // Left encoded: the parameter then fails validation and gets a 400.
    return segment;
  }
}

/** Parses a request target (path and query). */
export function parseRoute(target: string): Route {
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  if (path === TOKEN_PATH) return { kind: "token" };
  if (path === REVOKE_PATH) return { kind: "revoke" };
  if (path.startsWith(CONTROL_PREFIX))
    return { kind: "control", name: path.slice(CONTROL_PREFIX.length) };
  const query = new URLSearchParams(q < 0 ? "" : target.slice(q + 1));
  const org = ORG_GROUPS_PATH.exec(path);
  if (org)
    return { kind: "listing", listing: "groups", ownerId: decode(org[1] ?? ""), path, query };
  const flex = FLEX_CLUSTERS_PATH.exec(path);
  if (flex) {
    return {
      kind: "listing",
      listing: "flexClusters",
      ownerId: decode(flex[1] ?? ""),
      path,
      query,
    };
  }
  const clusters = CLUSTERS_PATH.exec(path);
  if (clusters) {
    return { kind: "clusters", groupId: decode(clusters[1] ?? ""), path, query };
  }
  const m = API_PATH.exec(path);
  if (!m) return { kind: "other" };
  const tenantName = m[2];
  const dedicatedName = m[4];
  const restoreId = m[5];
  return {
    kind: "api",
    family:
      tenantName !== undefined ? "tenant" : dedicatedName !== undefined ? "dedicated" : "flex",
    list: restoreId === undefined,
    groupId: decode(m[1] ?? ""),
    clusterName: decode(tenantName ?? m[3] ?? dedicatedName ?? ""),
    ...(restoreId !== undefined ? { restoreId: decode(restoreId) } : {}),
    path,
    query,
  };
}

/** The stats key of a route (control routes are not counted). */
export function routeKey(route: Route): RouteKey {
  switch (route.kind) {
    case "api":
      return `${route.family}.${route.list ? "list" : "get"}`;
    case "listing":
      return `${route.listing}.list`;
    case "clusters":
      return "clusters.list";
    case "token":
    case "revoke":
      return route.kind;
    default:
      return "other";
  }
}
