/**
 * Answers the restore-job paths (GET one and LIST of each family) as Atlas does, in Atlas's order of checks: method,
 * authentication, rate limit, injected faults, versioned Accept, sunset, path parameters, lookup.
 */
import { MEDIA_TYPES, FLEX_MAX_ITEMS_PER_PAGE, RATE_LIMIT_SETS } from "../atlas/endpoints.js";
import type { ApiFamily } from "../atlas/model.js";
import { UNAUTHORIZED_DETAIL, apiErrorReply, goneReply } from "./api-error.js";
import type { DigestAuthority } from "./digest-authority.js";
import type { Exchange } from "./exchange.js";
import type { FaultRegistry } from "./fault-registry.js";
import { performFault } from "./fault-response.js";
import { renderDedicatedJob, renderJob } from "./job-body.js";
import { jsonReply, withHeaders, type Reply } from "./reply.js";
import type { ApiRoute } from "./route.js";
import { CLUSTER_NAME_PATTERN, OBJECT_ID_PATTERN } from "./scenario.js";
import type { SimClock } from "./sim-clock.js";
import { rateLimitHeaders, type TokenBuckets } from "./token-bucket.js";
import type { TokenAuthority } from "./token-authority.js";
import { derivedId, type SimCluster, type SimJob, type World } from "./world.js";

/** Everything the API paths read or change. */
export interface AtlasApiDeps {
  readonly world: World;
  readonly clock: SimClock;
  readonly digest: DigestAuthority;
  readonly tokens: TokenAuthority;
  readonly buckets: TokenBuckets;
  readonly faults: FaultRegistry;
  /** The simulator's base URL, for links. */
  readonly baseUrl: string;
  /** Epoch ms from which tenant paths answer 410, or null for never. */
  tenantSunset(): number | null;
  /** Epoch ms announced in `Deprecation` on tenant answers, if any. */
  readonly tenantDeprecation: number | undefined;
}

/** The content type of a family's successful answers. */
export function successContentType(family: ApiFamily): string {
  return `${MEDIA_TYPES[family]};charset=utf-8`;
}

/** Atlas's 401: a digest challenge (`stale` after an expired nonce). */
export function unauthorizedReply(deps: AtlasApiDeps, stale: boolean): Reply {
  return apiErrorReply(401, "UNEXPECTED_ERROR", UNAUTHORIZED_DETAIL, {
    "www-authenticate": deps.digest.challenge(stale),
  });
}

/**
 * The gate every simulated Atlas path shares: GET only (405), authenticated (401 with a digest
 * challenge), within the rate limit of `bucketKey` (429 with Retry-After). It sends that answer
 * and returns undefined, or returns the headers the admitted answer carries: `extra` and the
 * bucket's. Every answer carries both.
 */
export function admit(
  ex: Exchange,
  deps: AtlasApiDeps,
  bucketKey: string,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> | undefined {
  const now = deps.clock.now();
  const peeked = () => ({ ...extra, ...rateLimitHeaders(deps.buckets.peek(bucketKey, now)) });
  if (ex.req.method !== "GET") {
    // Atlas's errorCode for a wrong method is unconfirmed.
    ex.send(
      apiErrorReply(405, "METHOD_NOT_ALLOWED", `${ex.req.method} is not allowed here.`, {
        ...peeked(),
        allow: "GET",
      }),
    );
    return undefined;
  }
  const auth = authenticate(ex, deps);
  if (auth !== "ok") {
    ex.send(withHeaders(unauthorizedReply(deps, auth === "stale"), peeked()));
    return undefined;
  }
  const bucket = deps.buckets.take(bucketKey, now);
  const headers = { ...extra, ...rateLimitHeaders(bucket) };
  if (!bucket.allowed) {
    const retry = { "retry-after": String(bucket.retryAfterSeconds ?? 1) };
    ex.send(
      apiErrorReply(429, "RATE_LIMITED", "Too many requests. Retry later.", {
        ...headers,
        ...retry,
      }),
    );
    return undefined;
  }
  return headers;
}

/** Answers one request on a restore-job path. */
export function handleApiRequest(ex: Exchange, route: ApiRoute, deps: AtlasApiDeps): void {
  // Dedicated restore reads draw on the project's Cloud Backups set, as in Atlas.
  const bucketKey = `${route.groupId}\n${RATE_LIMIT_SETS[route.family]}`;
  const headers = admit(ex, deps, bucketKey, lifecycleHeaders(route.family, deps));
  if (headers === undefined) return;
  const normal = (): Reply => answer(route, ex.req.headers.accept, deps);
  const fault = deps.faults.take(
    {
      api: route.family,
      groupId: route.groupId,
      clusterName: route.clusterName,
      ...(route.restoreId !== undefined ? { restoreId: route.restoreId } : {}),
      list: route.list,
    },
    deps.clock.elapsedSeconds(),
  );
  if (fault) {
    const sample = (): Reply => {
      const reply = normal();
      return reply.status === 200 ? reply : syntheticReply(route, deps);
    };
    performFault(ex, fault, {
      list: route.list,
      contentType: successContentType(route.family),
      headers,
      normal,
      sample,
      wrongId: () => wrongIdReply(sample(), route, deps),
      unauthorized: () => unauthorizedReply(deps, false),
    });
    return;
  }
  ex.send(withHeaders(normal(), headers));
}

/** What authentication decided: accepted, a stale digest nonce, or refused. */
export type AuthVerdict = "ok" | "stale" | "invalid";

/** Checks a request's bearer token or digest signature. */
export function authenticate(ex: Exchange, deps: AtlasApiDeps): AuthVerdict {
  const header = ex.req.headers.authorization ?? "";
  const bearer = /^\s*Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return deps.tokens.isValid(bearer[1] ?? "") ? "ok" : "invalid";
  if (/^\s*Digest\s/i.test(header)) {
    return deps.digest.verify(header, ex.req.method ?? "GET", ex.req.url ?? "");
  }
  return "invalid";
}

function lifecycleHeaders(family: ApiFamily, deps: AtlasApiDeps): Record<string, string> {
  if (family !== "tenant") return {};
  const headers: Record<string, string> = {};
  const sunset = deps.tenantSunset();
  if (deps.tenantDeprecation !== undefined) {
    headers["deprecation"] = new Date(deps.tenantDeprecation).toUTCString();
  }
  if (sunset !== null) headers["sunset"] = new Date(sunset).toUTCString();
  return headers;
}

function accepts(accept: string | undefined, mediaType: string): boolean {
  return (accept ?? "")
    .split(",")
    .some((part) => part.split(";")[0]?.trim().toLowerCase() === mediaType);
}

/** A 400 with Atlas's error body. */
export function badRequest(errorCode: string, detail: string): Reply {
  return apiErrorReply(400, errorCode, detail);
}

/** The answer without faults: version, sunset, parameters, then the lookup. */
function answer(route: ApiRoute, accept: string | undefined, deps: AtlasApiDeps): Reply {
  const mediaType = MEDIA_TYPES[route.family];
  if (!accepts(accept, mediaType)) {
    // Atlas answers 406 without the version; its errorCode for that is unconfirmed.
    return apiErrorReply(406, "INVALID_VERSION_DATE", `Accept must name ${mediaType}.`);
  }
  const sunset = deps.tenantSunset();
  if (route.family === "tenant" && sunset !== null && deps.clock.now() >= sunset) {
    return goneReply();
  }
  const invalid = invalidParameter(route);
  if (invalid) return invalid;
  const t = deps.clock.elapsedSeconds();
  const found = deps.world.cluster(route.family, route.groupId, route.clusterName, t);
  if (found.kind === "error") return apiErrorReply(found.status, found.errorCode, found.detail);
  if (route.list) return listReply(route, found.cluster, deps);
  const job = deps.world.jobAt(found.cluster, route.restoreId ?? "", t);
  if (!job) {
    // Atlas's errorCode for an unknown job on an existing cluster is unconfirmed.
    return apiErrorReply(
      404,
      "RESOURCE_NOT_FOUND",
      `No restore job with ID ${route.restoreId ?? ""} exists for cluster ${route.clusterName}.`,
    );
  }
  return jsonReply(200, render(route, job, deps), successContentType(route.family));
}

/** 400 for a path parameter that breaks its pattern (Atlas's exact errorCode is unconfirmed). */
function invalidParameter(route: ApiRoute): Reply | undefined {
  const nameParam = route.family === "flex" ? "name" : "clusterName";
  const idParam = route.family === "tenant" ? "restoreId" : "restoreJobId";
  const checks: [string, string | undefined, RegExp][] = [
    ["groupId", route.groupId, OBJECT_ID_PATTERN],
    [nameParam, route.clusterName, CLUSTER_NAME_PATTERN],
    [idParam, route.restoreId, OBJECT_ID_PATTERN],
  ];
  for (const [name, value, pattern] of checks) {
    if (value !== undefined && !pattern.test(value)) {
      return badRequest("VALIDATION_ERROR", `Path parameter ${name} must match ${pattern.source}.`);
    }
  }
  return undefined;
}

function render(route: ApiRoute, job: SimJob, deps: AtlasApiDeps): Record<string, unknown> {
  const selfPath = route.list ? `${route.path}/${job.id}` : route.path;
  const context = {
    startTime: deps.clock.startTime,
    t: deps.clock.elapsedSeconds(),
    baseUrl: deps.baseUrl,
    selfPath,
  };
  return route.family === "dedicated"
    ? renderDedicatedJob(job, context)
    : renderJob(route.family, job, context);
}

/** Paging parameters (`pageNum`, `itemsPerPage` up to 500, `includeCount`), or the 400 for a bad one. */
export function paging(
  query: URLSearchParams,
): { pageNum: number; itemsPerPage: number; includeCount: boolean } | Reply {
  const int = (name: string, fallback: number, min: number, max: number): number | undefined => {
    const raw = query.get(name);
    if (raw === null) return fallback;
    const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
    return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
  };
  // Atlas's errorCode for a bad query parameter is unconfirmed; INVALID_PARAMETER is plausible.
  const pageNum = int("pageNum", 1, 1, Number.MAX_SAFE_INTEGER);
  if (pageNum === undefined)
    return badRequest("INVALID_PARAMETER", "pageNum must be an integer >= 1.");
  const itemsPerPage = int("itemsPerPage", 100, 1, FLEX_MAX_ITEMS_PER_PAGE);
  if (itemsPerPage === undefined) {
    return badRequest(
      "INVALID_PARAMETER",
      `itemsPerPage must be an integer from 1 to ${FLEX_MAX_ITEMS_PER_PAGE}.`,
    );
  }
  const rawCount = query.get("includeCount");
  if (rawCount !== null && rawCount !== "true" && rawCount !== "false") {
    return badRequest("INVALID_PARAMETER", "includeCount must be true or false.");
  }
  return { pageNum, itemsPerPage, includeCount: rawCount !== "false" };
}

/**
 * Tenant LIST: every job in scenario order, no paging. Flex LIST: one page, newest first (as
 * Atlas lists them), with self/previous/next links. Dedicated LIST: paged the same way, in
 * scenario order (the order of a dedicated LIST is unconfirmed).
 */
function listReply(route: ApiRoute, cluster: SimCluster, deps: AtlasApiDeps): Reply {
  const t = deps.clock.elapsedSeconds();
  const type = successContentType(route.family);
  if (route.family === "tenant") {
    const jobs = deps.world.jobsAt(cluster, t);
    const results = jobs.map((job) => render(route, job, deps));
    const links = [{ href: `${deps.baseUrl}${route.path}`, rel: "self" }];
    return jsonReply(200, { links, results, totalCount: jobs.length }, type);
  }
  const jobs =
    route.family === "dedicated"
      ? deps.world.jobsAt(cluster, t)
      : deps.world.jobsNewestFirst(cluster, t);
  return pagedReply(route, jobs, (job) => render(route, job, deps), deps.baseUrl, type);
}

/** One page of `items` as Atlas pages every list: `{links, results, totalCount}`. */
export function pagedReply<T>(
  route: { readonly path: string; readonly query: URLSearchParams },
  items: readonly T[],
  renderItem: (item: T) => unknown,
  baseUrl: string,
  contentType: string,
): Reply {
  const page = paging(route.query);
  if ("status" in page) return page;
  const { pageNum, itemsPerPage, includeCount } = page;
  const start = (pageNum - 1) * itemsPerPage;
  const results = items.slice(start, start + itemsPerPage).map(renderItem);
  const href = (n: number): string =>
    `${baseUrl}${route.path}?pageNum=${n}&itemsPerPage=${itemsPerPage}` +
    (includeCount ? "" : "&includeCount=false");
  const links = [{ href: href(pageNum), rel: "self" }];
  if (pageNum > 1) links.push({ href: href(pageNum - 1), rel: "previous" });
  if (start + itemsPerPage < items.length) links.push({ href: href(pageNum + 1), rel: "next" });
  const body: Record<string, unknown> = { links, results };
  if (includeCount) body["totalCount"] = items.length;
  return jsonReply(200, body, contentType);
}

/** A valid 200 for the route even when the real answer is an error (used by body faults). */
function syntheticReply(route: ApiRoute, deps: AtlasApiDeps): Reply {
  const type = successContentType(route.family);
  if (route.list) return jsonReply(200, { links: [], results: [], totalCount: 0 }, type);
  const valid = (value: string | undefined, pattern: RegExp, seed: string): string =>
    value !== undefined && pattern.test(value) ? value : derivedId(seed);
  const groupId = valid(route.groupId, OBJECT_ID_PATTERN, "group");
  const clusterName = CLUSTER_NAME_PATTERN.test(route.clusterName) ? route.clusterName : "Cluster0";
  const id = valid(route.restoreId, OBJECT_ID_PATTERN, "job");
  const job: SimJob = {
    groupId,
    clusterName,
    id,
    deliveryType: route.family === "dedicated" ? "automated" : "RESTORE",
    snapshotId: derivedId(`snapshot:${id}`),
    targetProjectId: groupId,
    targetDeploymentItemName: `${clusterName}-restore`,
    createdAt: 0,
    script: [{ at: 0, status: "RUNNING" }],
  };
  return jsonReply(200, render(route, job, deps), type);
}

/** The sample answer with each job's id replaced by another job's. */
function wrongIdReply(sample: Reply, route: ApiRoute, deps: AtlasApiDeps): Reply {
  const body = JSON.parse(sample.body) as Record<string, unknown>;
  const swap = (job: Record<string, unknown>): void => {
    job["id"] = deps.world.otherJobId(String(job["id"]));
  };
  if (route.list && Array.isArray(body["results"])) {
    for (const job of body["results"] as Record<string, unknown>[]) swap(job);
  } else {
    swap(body);
  }
  return { ...sample, body: JSON.stringify(body) };
}
