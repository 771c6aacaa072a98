/**
 * Answers `GET /groups/{groupId}/clusters` (Accept 2024-08-05) as Atlas does: a project's
 * clusters as ClusterDescription20240805, paged like every Atlas list, with the checks of the
 * restore-job paths in the same order (method, authentication, rate limit, Accept, path
 * parameter, lookup). A dedicated cluster's region names its cloud provider (AWS, AZURE, GCP);
 * a shared-tier cluster's names TENANT. Faults are not applied to this list.
 */
import { CLUSTERS_MEDIA_TYPE } from "../atlas/endpoints.js";
import { apiErrorReply } from "./api-error.js";
import { admit, paging, type AtlasApiDeps } from "./atlas-api.js";
import type { Exchange } from "./exchange.js";
import { isoSeconds } from "./job-body.js";
import { jsonReply, withHeaders, type Reply } from "./reply.js";
import type { ClustersRoute } from "./route.js";
import { OBJECT_ID_PATTERN } from "./scenario.js";
import { derivedId, type SimCluster } from "./world.js";

/** Atlas's rate-limit set of the clusters list (Clusters: 10,000 capacity, 5,000 a minute). */
const CLUSTERS_BUCKET = "clusters";

/** A region of each provider, as the specification's enums name them. */
const REGIONS: Readonly<Record<string, string>> = {
  AWS: "US_EAST_1",
  AZURE: "EUROPE_WEST",
  GCP: "WESTERN_EUROPE",
};

/** Answers one request on the clusters list. */
export function handleClustersRequest(
  ex: Exchange,
  route: ClustersRoute,
  deps: AtlasApiDeps,
): void {
  const bucketKey = `${route.groupId}\n${CLUSTERS_BUCKET}`;
  const headers = admit(ex, deps, bucketKey);
  if (headers === undefined) return;
  ex.send(withHeaders(answer(route, ex.req.headers.accept, deps), headers));
}

function answer(route: ClustersRoute, accept: string | undefined, deps: AtlasApiDeps): Reply {
  const accepted = (accept ?? "")
    .split(",")
    .some((part) => part.split(";")[0]?.trim().toLowerCase() === CLUSTERS_MEDIA_TYPE);
  if (!accepted) {
    return apiErrorReply(406, "INVALID_VERSION_DATE", `Accept must name ${CLUSTERS_MEDIA_TYPE}.`);
  }
  if (!OBJECT_ID_PATTERN.test(route.groupId)) {
    return apiErrorReply(
      400,
      "VALIDATION_ERROR",
      `Path parameter groupId must match ${OBJECT_ID_PATTERN.source}.`,
    );
  }
  const clusters = deps.world.clustersOf(route.groupId, deps.clock.elapsedSeconds());
  if (clusters === undefined) {
    return apiErrorReply(404, "GROUP_NOT_FOUND", `No group with ID ${route.groupId} exists.`);
  }
  const page = paging(route.query);
  if ("status" in page) return page;
  const { pageNum, itemsPerPage, includeCount } = page;
  const start = (pageNum - 1) * itemsPerPage;
  const results = clusters
    .slice(start, start + itemsPerPage)
    .map((cluster) => renderCluster(cluster, deps));
  const href = (n: number): string =>
    `${deps.baseUrl}${route.path}?pageNum=${n}&itemsPerPage=${itemsPerPage}` +
    (includeCount ? "" : "&includeCount=false");
  const links = [{ href: href(pageNum), rel: "self" }];
  if (pageNum > 1) links.push({ href: href(pageNum - 1), rel: "previous" });
  if (start + itemsPerPage < clusters.length) links.push({ href: href(pageNum + 1), rel: "next" });
  const body: Record<string, unknown> = { links, results };
  if (includeCount) body["totalCount"] = clusters.length;
  return jsonReply(200, body, `${CLUSTERS_MEDIA_TYPE};charset=utf-8`);
}

/** One cluster as ClusterDescription20240805, with the fields discovery and people look at. */
function renderCluster(cluster: SimCluster, deps: AtlasApiDeps): Record<string, unknown> {
  const dedicated = cluster.kind === "dedicated";
  const region = dedicated
    ? {
        electableSpecs: { diskSizeGB: 10, instanceSize: "M10", nodeCount: 3 },
        priority: 7,
        providerName: cluster.providerName,
        regionName: REGIONS[cluster.providerName] ?? "US_EAST_1",
      }
    : {
        backingProviderName: "AWS",
        electableSpecs: { instanceSize: "M0" },
        priority: 7,
        providerName: "TENANT",
        regionName: "US_EAST_1",
      };
  const clusterId = derivedId(`cluster:${cluster.groupId}/${cluster.name}`);
  return {
    backupEnabled: dedicated,
    clusterType: "REPLICASET",
    createDate: isoSeconds(deps.clock.startTime),
    groupId: cluster.groupId,
    id: clusterId,
    links: [
      {
        href: `${deps.baseUrl}/api/atlas/v2/groups/${cluster.groupId}/clusters/${cluster.name}`,
        rel: "self",
      },
    ],
    mongoDBMajorVersion: "8.0",
    mongoDBVersion: "8.0.12",
    name: cluster.name,
    paused: false,
    pitEnabled: dedicated,
    replicationSpecs: [
      {
        id: derivedId(`spec:${clusterId}`),
        regionConfigs: [region],
        zoneId: derivedId(`zone:${clusterId}`),
        zoneName: "Zone 1",
      },
    ],
    stateName: "IDLE",
    terminationProtectionEnabled: false,
    versionReleaseSystem: "LTS",
  };
}
