/**
 * Decoding of a project's clusters list (`GET /groups/{groupId}/clusters`, 2024-08-05) into what
 * discovery needs: each cluster's name and tier. A dedicated (M10 and up) cluster's regions name
 * its cloud provider (AWS, AZURE, GCP); the old shared tier's name TENANT. Strict on the name,
 * blind to every other field, so that Atlas can add fields without breaking discovery.
 */
import { z } from "zod";
import { CLUSTER_NAME_PATTERN } from "./ids.js";

/** Which restore family a cluster's jobs are read on, as far as the clusters list tells. */
export type ClusterTier = "dedicated" | "tenant" | "unknown";

/** One cluster of the list, as discovery needs it. */
export interface ClusterSummary {
  readonly name: string;
  readonly tier: ClusterTier;
}

/** Cloud providers of dedicated clusters (CloudRegionConfig20240805's discriminator). */
const DEDICATED_PROVIDERS: ReadonlySet<string> = new Set(["AWS", "AZURE", "GCP"]);

const clusterSchema = z.object({
  name: z.string().regex(CLUSTER_NAME_PATTERN, "is not a valid cluster name"),
  replicationSpecs: z.unknown().optional(),
});

/** Every `replicationSpecs[].regionConfigs[].providerName` that is a string. */
function providerNames(replicationSpecs: unknown): string[] {
  if (!Array.isArray(replicationSpecs)) return [];
  return replicationSpecs.flatMap((spec: unknown) => {
    const regions = (spec as { regionConfigs?: unknown } | null)?.regionConfigs;
    if (!Array.isArray(regions)) return [];
    return regions.flatMap((region: unknown) => {
      const provider = (region as { providerName?: unknown } | null)?.providerName;
      return typeof provider === "string" ? [provider] : [];
    });
  });
}

/** The tier the providers of a cluster's regions say: dedicated, tenant, or unknown. */
export function clusterTier(providers: readonly string[]): ClusterTier {
  if (providers.some((provider) => DEDICATED_PROVIDERS.has(provider))) return "dedicated";
  if (providers.includes("TENANT")) return "tenant";
  return "unknown";
}

/** Decodes one item of a project's clusters list. */
export function decodeClusterSummary(
  item: unknown,
): { ok: true; value: ClusterSummary } | { ok: false; problems: readonly string[] } {
  const parsed = clusterSchema.safeParse(item);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map(
        (issue) => `${issue.path.map(String).join(".") || "body"}: ${issue.message}`,
      ),
    };
  }
  const { name, replicationSpecs } = parsed.data;
  return { ok: true, value: { name, tier: clusterTier(providerNames(replicationSpecs)) } };
}

/**
 * The dedicated clusters to watch: those of `clusters` whose tier is dedicated and whose name is
 * not one of `flexNames` (whether Atlas lists a Flex cluster here too is unconfirmed: the Flex
 * list wins), in the list's order.
 */
export function dedicatedClusterNames(
  clusters: readonly ClusterSummary[],
  flexNames: Iterable<string>,
): string[] {
  const flex = new Set(flexNames);
  return clusters
    .filter((cluster) => cluster.tier === "dedicated" && !flex.has(cluster.name))
    .map((cluster) => cluster.name);
}
