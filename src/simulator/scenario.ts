/**
 * The scenario a simulator plays: credentials, clusters, restore jobs with their status over
 * time, the tenant sunset, the rate limit and initial faults. Validated strictly with zod.
 */
import { z } from "zod";
import { faultSchema } from "./fault.js";
import { ScenarioError, describeIssues } from "./scenario-error.js";

/** Atlas's pattern for group, job and snapshot ids. */
export const OBJECT_ID_PATTERN = /^([a-f0-9]{24})$/;

/** Atlas's pattern for cluster names (tenant `clusterName`, flex `name`). */
export const CLUSTER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9-]*$/;

const TARGET_NAME_PATTERN = /^[\p{L}\p{N}\-_.(),:&@+']{1,64}$/u;

const objectId = z.string().regex(OBJECT_ID_PATTERN, "must be 24 lowercase hex digits");
const clusterName = z.string().regex(CLUSTER_NAME_PATTERN, "must match ^[a-zA-Z0-9][a-zA-Z0-9-]*$");
const seconds = z.number().finite().nonnegative();
/** A time that may lie before t=0 (a restore finished months before the scenario starts). */
const anySeconds = z.number().finite();
const isoDate = z
  .string()
  .refine(
    (v) =>
      /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/.test(v) && !Number.isNaN(Date.parse(v)),
    "must be an ISO-8601 date such as 2026-01-22T00:00:00Z",
  );

const scriptStep = z.strictObject({
  afterSeconds: anySeconds,
  // Any string: clients must survive values outside the enum (e.g. "CLOSED").
  status: z.string().min(1),
});

/** Tenant and Flex delivery types. */
export const FLEX_DELIVERY_TYPES = ["RESTORE", "DOWNLOAD"] as const;

/** Dedicated delivery types (DiskBackupSnapshotRestoreJob, lower case as Atlas writes them). */
export const DEDICATED_DELIVERY_TYPES = ["automated", "download", "pointInTime"] as const;

const jobSchema = z.strictObject({
  groupId: objectId,
  clusterName,
  id: objectId,
  // Default by cluster kind: RESTORE, or automated on a dedicated cluster (see World).
  deliveryType: z.enum([...FLEX_DELIVERY_TYPES, ...DEDICATED_DELIVERY_TYPES]).optional(),
  snapshotId: objectId.optional(),
  targetProjectId: objectId.optional(),
  targetDeploymentItemName: z
    .string()
    .regex(TARGET_NAME_PATTERN, "must be 1 to 64 letters, digits or -_.(),:&@+'")
    .optional(),
  createdAfterSeconds: anySeconds.default(0),
  script: z
    .array(scriptStep)
    .min(1)
    .superRefine((steps, ctx) => {
      for (let i = 1; i < steps.length; i++) {
        const prev = steps[i - 1];
        const step = steps[i];
        if (prev && step && step.afterSeconds <= prev.afterSeconds) {
          ctx.addIssue({
            code: "custom",
            path: [i, "afterSeconds"],
            input: step.afterSeconds,
            message: `must be later than the previous step's ${prev.afterSeconds}`,
          });
        }
      }
    }),
});

const clusterSchema = z
  .strictObject({
    groupId: objectId,
    name: clusterName,
    kind: z.enum(["tenant", "flex", "dedicated"]),
    convertedToFlexAfterSeconds: seconds.optional(),
    tenantApi: z.enum(["serve", "reject"]).default("serve"),
    createdAfterSeconds: anySeconds.default(0),
    deletedAfterSeconds: anySeconds.optional(),
    /** A dedicated cluster's cloud provider, as its clusters-list entry names it (AWS). */
    providerName: z.enum(["AWS", "AZURE", "GCP"]).optional(),
  })
  .superRefine((c, ctx) => {
    laterThanCreation(c, ctx);
    if (c.kind !== "dedicated" && c.providerName !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["providerName"],
        input: c.providerName,
        message: "only a dedicated cluster has a providerName",
      });
    }
    if (c.kind !== "tenant" && c.convertedToFlexAfterSeconds !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["convertedToFlexAfterSeconds"],
        input: c.convertedToFlexAfterSeconds,
        message: "only a tenant cluster can be converted to flex",
      });
    }
  });

/** Atlas's pattern for project names. */
export const PROJECT_NAME_PATTERN = /^[\p{L}\p{N}\-_.(),:&@+']{1,64}$/u;

/** Refuses a deletion at or before the creation. */
function laterThanCreation(
  item: { createdAfterSeconds: number; deletedAfterSeconds?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  if (
    item.deletedAfterSeconds !== undefined &&
    item.deletedAfterSeconds <= item.createdAfterSeconds
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["deletedAfterSeconds"],
      input: item.deletedAfterSeconds,
      message: `must be later than createdAfterSeconds (${item.createdAfterSeconds})`,
    });
  }
}

const projectSchema = z
  .strictObject({
    id: objectId,
    orgId: objectId,
    name: z
      .string()
      .regex(PROJECT_NAME_PATTERN, "must be 1 to 64 letters, digits or -_.(),:&@+'")
      .optional(),
    createdAfterSeconds: anySeconds.default(0),
    deletedAfterSeconds: anySeconds.optional(),
  })
  .superRefine(laterThanCreation);

const tenantSchema = z
  .strictObject({
    sunset: isoDate.nullable().optional(),
    sunsetAfterSeconds: seconds.optional(),
    deprecation: isoDate.optional(),
  })
  .superRefine((t, ctx) => {
    if (typeof t.sunset === "string" && t.sunsetAfterSeconds !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["sunsetAfterSeconds"],
        input: t.sunsetAfterSeconds,
        message: "give either sunset or sunsetAfterSeconds, not both",
      });
    }
  });

const UNLIMITED = 1e9;

/** Validates a whole scenario; unknown keys are rejected at every level. */
export const scenarioSchema = z
  .strictObject({
    apiKeys: z
      .array(z.strictObject({ publicKey: z.string().min(1), privateKey: z.string().min(1) }))
      .default([]),
    serviceAccounts: z
      .array(z.strictObject({ clientId: z.string().min(1), clientSecret: z.string().min(1) }))
      .default([]),
    tokenTtlSeconds: z.int().positive().default(3600),
    digest: z
      .strictObject({
        algorithm: z.enum(["MD5", "SHA-256"]).default("MD5"),
        // How long a nonce stays usable (simulator time); Atlas's own lifetime is unknown.
        nonceTtlSeconds: z.number().finite().positive().default(300),
      })
      .default({ algorithm: "MD5", nonceTtlSeconds: 300 }),
    tenant: tenantSchema.default({}),
    rateLimit: z
      .strictObject({
        capacity: z.number().finite().positive().default(UNLIMITED),
        refillPerMinute: z.number().finite().nonnegative().default(UNLIMITED),
      })
      .default({ capacity: UNLIMITED, refillPerMinute: UNLIMITED }),
    projects: z.array(projectSchema).default([]),
    clusters: z.array(clusterSchema).default([]),
    jobs: z.array(jobSchema).default([]),
    faults: z.array(faultSchema).default([]),
  })
  .superRefine((s, ctx) => {
    const duplicate = (path: PropertyKey[], input: unknown, what: string): void => {
      ctx.addIssue({ code: "custom", path, input, message: `duplicate ${what}` });
    };
    const keys = new Set<string>();
    s.apiKeys.forEach((k, i) => {
      if (keys.has(k.publicKey)) duplicate(["apiKeys", i, "publicKey"], k.publicKey, "public key");
      keys.add(k.publicKey);
    });
    const clients = new Set<string>();
    s.serviceAccounts.forEach((a, i) => {
      if (clients.has(a.clientId))
        duplicate(["serviceAccounts", i, "clientId"], a.clientId, "client id");
      clients.add(a.clientId);
    });
    const projects = new Set<string>();
    s.projects.forEach((p, i) => {
      if (projects.has(p.id)) duplicate(["projects", i, "id"], p.id, "project id");
      projects.add(p.id);
    });
    const clusters = new Set<string>();
    s.clusters.forEach((c, i) => {
      const key = `${c.groupId}/${c.name}`;
      if (clusters.has(key)) duplicate(["clusters", i, "name"], c.name, "cluster in this group");
      clusters.add(key);
    });
    const ids = new Set<string>();
    const dedicated = new Set(
      s.clusters.filter((c) => c.kind === "dedicated").map((c) => `${c.groupId}/${c.name}`),
    );
    s.jobs.forEach((j, i) => {
      if (ids.has(j.id)) duplicate(["jobs", i, "id"], j.id, "job id");
      ids.add(j.id);
      if (j.deliveryType === undefined) return;
      const allowed: readonly string[] = dedicated.has(`${j.groupId}/${j.clusterName}`)
        ? DEDICATED_DELIVERY_TYPES
        : FLEX_DELIVERY_TYPES;
      if (!allowed.includes(j.deliveryType)) {
        ctx.addIssue({
          code: "custom",
          path: ["jobs", i, "deliveryType"],
          input: j.deliveryType,
          message: `must be one of ${allowed.join(", ")} on this cluster`,
        });
      }
    });
  });

/** A validated scenario, defaults applied. */
export type Scenario = z.output<typeof scenarioSchema>;

/** What a scenario may look like before validation (defaults not yet applied). */
export type ScenarioInput = z.input<typeof scenarioSchema>;

/** One restore job of a scenario. */
export type ScenarioJob = Scenario["jobs"][number];

/** One project of a scenario. */
export type ScenarioProject = Scenario["projects"][number];

/** One cluster of a scenario. */
export type ScenarioCluster = Scenario["clusters"][number];

/**
 * Validates a scenario (already parsed from YAML or JSON). Throws a ScenarioError that names
 * every bad key with its value; `source` (e.g. the file name) starts its message.
 */
export function parseScenario(input: unknown, source = "scenario"): Scenario {
  const result = scenarioSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ScenarioError(source, describeIssues(result.error.issues));
  return result.data;
}
