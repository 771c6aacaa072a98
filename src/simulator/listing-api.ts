/**
 * Answers the discovery listings as Atlas does: an organization's projects
 * (`GET /orgs/{orgId}/groups`) and a project's Flex clusters (`GET /groups/{groupId}/flexClusters`),
 * paged like every Atlas list, with the same order of checks as the restore-job paths: method,
 * authentication, rate limit, faults, versioned Accept, path parameter, lookup.
 */
import { LISTING_MEDIA_TYPES, type Listing } from "../atlas/endpoints.js";
import { apiErrorReply } from "./api-error.js";
import {
  admit,
  unauthorizedReply,
  badRequest,
  pagedReply,
  type AtlasApiDeps,
} from "./atlas-api.js";
import type { Exchange } from "./exchange.js";
import { performFault } from "./fault-response.js";
import { isoSeconds } from "./job-body.js";
import { jsonReply, withHeaders, type Reply } from "./reply.js";
import type { ListingRoute } from "./route.js";
import { OBJECT_ID_PATTERN } from "./scenario.js";
import { derivedId, type SimCluster, type SimProject } from "./world.js";

const LISTING_OF: Readonly<Record<ListingRoute["listing"], Listing>> = {
  groups: "projects",
  flexClusters: "flexClusters",
};

/** The content type of a listing's successful answers. */
function contentType(route: ListingRoute): string {
  return `${LISTING_MEDIA_TYPES[LISTING_OF[route.listing]]};charset=utf-8`;
}

/** Answers one request on a listing path. */
export function handleListingRequest(ex: Exchange, route: ListingRoute, deps: AtlasApiDeps): void {
  const bucketKey = `${route.ownerId}\n${route.listing}`;
  const headers = admit(ex, deps, bucketKey);
  if (headers === undefined) return;
  const normal = (): Reply => answer(route, ex.req.headers.accept, deps);
  const owner = route.listing === "groups" ? { orgId: route.ownerId } : { groupId: route.ownerId };
  const fault = deps.faults.take(
    { api: route.listing, ...owner, list: true },
    deps.clock.elapsedSeconds(),
  );
  if (fault) {
    const sample = (): Reply => {
      const reply = normal();
      return reply.status === 200
        ? reply
        : jsonReply(200, { links: [], results: [], totalCount: 0 }, contentType(route));
    };
    performFault(ex, fault, {
      list: true,
      contentType: contentType(route),
      headers,
      normal,
      sample,
      wrongId: sample,
      unauthorized: () => unauthorizedReply(deps, false),
    });
    return;
  }
  ex.send(withHeaders(normal(), headers));
}

function answer(route: ListingRoute, accept: string | undefined, deps: AtlasApiDeps): Reply {
  const mediaType = LISTING_MEDIA_TYPES[LISTING_OF[route.listing]];
  const accepted = (accept ?? "")
    .split(",")
    .some((part) => part.split(";")[0]?.trim().toLowerCase() === mediaType);
  if (!accepted) {
    return apiErrorReply(406, "INVALID_VERSION_DATE", `Accept must name ${mediaType}.`);
  }
  const param = route.listing === "groups" ? "orgId" : "groupId";
  if (!OBJECT_ID_PATTERN.test(route.ownerId)) {
    return badRequest(
      "VALIDATION_ERROR",
      `Path parameter ${param} must match ${OBJECT_ID_PATTERN.source}.`,
    );
  }
  const t = deps.clock.elapsedSeconds();
  const type = contentType(route);
  if (route.listing === "groups") {
    const found = deps.world.projectsOf(route.ownerId, t);
    if (found.kind === "error") return apiErrorReply(found.status, found.errorCode, found.detail);
    const render = (project: SimProject) => renderProject(project, deps, t);
    return pagedReply(route, found.items, render, deps.baseUrl, type);
  }
  const found = deps.world.flexClustersOf(route.ownerId, t);
  if (found.kind === "error") return apiErrorReply(found.status, found.errorCode, found.detail);
  const render = (cluster: SimCluster) => renderFlexCluster(cluster, deps);
  return pagedReply(route, found.items, render, deps.baseUrl, type);
}

/** A project as `Group`: `clusterCount`, `created`, `id`, `links`, `name`, `orgId`. */
function renderProject(project: SimProject, deps: AtlasApiDeps, t: number): unknown {
  const clusters = deps.world.flexClustersOf(project.id, t);
  return {
    clusterCount: clusters.kind === "ok" ? clusters.items.length : 0,
    created: isoSeconds(deps.clock.startTime + project.createdAt * 1000),
    id: project.id,
    links: [{ href: `${deps.baseUrl}/api/atlas/v2/groups/${project.id}`, rel: "self" }],
    name: project.name,
    orgId: project.orgId,
    withDefaultAlertsSettings: true,
  };
}

/** A Flex cluster as `FlexClusterDescription20241113`. */
function renderFlexCluster(cluster: SimCluster, deps: AtlasApiDeps): unknown {
  const created = Number.isFinite(cluster.createdAt) ? cluster.createdAt : 0;
  return {
    backupSettings: { enabled: true },
    clusterType: "REPLICASET",
    connectionStrings: {
      standardSrv: `mongodb+srv://${cluster.name.toLowerCase()}.example.mongodb.net`,
    },
    createDate: isoSeconds(deps.clock.startTime + created * 1000),
    groupId: cluster.groupId,
    id: derivedId(`cluster:${cluster.groupId}/${cluster.name}`),
    mongoDBVersion: "8.0.12",
    name: cluster.name,
    providerSettings: {
      backingProviderName: "AWS",
      diskSizeGB: 5,
      providerName: "FLEX",
      regionName: "US_EAST_1",
    },
    stateName: "IDLE",
    terminationProtectionEnabled: false,
    versionReleaseSystem: "LTS",
  };
}
