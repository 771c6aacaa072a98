/**
 * Decoding of untrusted restore-job bodies from both families into one RestoreJob. Strict on what
 * the daemon decides on (the id, the status, the dates), following the official schemas
 * (TenantRestore, FlexBackupRestoreJob20241113); lenient on what it only shows (delivery type,
 * snapshot, target, cluster name): a value there that is not what the schema says (a delivery
 * type Atlas adds later, a longer name) is kept as text, cut to a bound, or left out when it is
 * not text at all, so that it never hides the status. A status outside the enum is kept as
 * UNKNOWN with its raw value, and unknown fields are ignored.
 */
import { z } from "zod";
import { decodeDedicatedRestoreJob } from "./decode-dedicated.js";
import { toRestoreStatus, type ApiFamily, type RestoreJob } from "./model.js";

const objectId = z.string().regex(/^([a-f0-9]{24})$/, "is not a 24-character hexadecimal id");
const date = z.iso.datetime({ offset: true, message: "is not an ISO-8601 date-time" });
/** A cluster name, as discovery decides on it. */
const name = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9-]*$/, "is not a valid cluster name");

/** Longest display text kept from a body; a URL (snapshotUrl) may be longer than a name. */
const MAX_DISPLAY_TEXT = 200;
const MAX_URL_TEXT = 2048;

/**
 * A field only shown: any non-empty string, cut to `max`; anything else is left out. Applied to
 * the body beside the schema, not in it: six transforms in the schema cost three times the rest
 * of a job's decoding.
 */
function display(value: unknown, max = MAX_DISPLAY_TEXT): string | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  // No more UTF-16 units than `max` is no more code points: only a longer one is cut.
  return value.length <= max ? value : Array.from(value).slice(0, max).join("");
}

/** What the daemon decides on; the schemas ignore every other field. */
const jobSchema = z.object({
  id: objectId,
  status: z.string().min(1, "is empty"),
  snapshotFinishedDate: date.optional(),
  restoreScheduledDate: date.optional(),
  restoreFinishedDate: date.optional(),
  expirationDate: date.optional(),
});

/** The outcome of decoding: a job, or the list of problems found. */
export type DecodeResult =
  | { readonly ok: true; readonly job: RestoreJob }
  | { readonly ok: false; readonly problems: readonly string[] };

function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    if (issue.code === "invalid_type" && issue.input === undefined) {
      return `${path || "body"}: is missing`;
    }
    return `${path || "body"}: ${issue.message}`;
  });
}

/** Builds the model from validated fields, leaving out the absent ones. */
function toJob(fields: {
  readonly [K in keyof RestoreJob]: RestoreJob[K] | undefined;
}): RestoreJob {
  const job: Record<string, unknown> = {};
  for (const key in fields) {
    const value = fields[key as keyof RestoreJob];
    if (value !== undefined) job[key] = value;
  }
  return job as unknown as RestoreJob;
}

/** Decodes one restore-job document of the given family (dedicated: see decode-dedicated.ts). */
export function decodeRestoreJob(api: ApiFamily, body: unknown): DecodeResult {
  if (api === "dedicated") return decodeDedicatedRestoreJob(body);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, problems: ["body: is not a JSON object"] };
  }
  const parsed = jobSchema.safeParse(body);
  if (!parsed.success) return { ok: false, problems: describeIssues(parsed.error.issues) };
  const fields = parsed.data;
  const raw = body as Record<string, unknown>;
  return {
    ok: true,
    job: toJob({
      id: fields.id,
      deliveryType: display(raw["deliveryType"]),
      snapshotId: display(raw["snapshotId"]),
      snapshotUrl: display(raw["snapshotUrl"], MAX_URL_TEXT),
      projectId: display(raw["projectId"]),
      targetProjectId: display(raw["targetProjectId"]),
      targetDeploymentItemName: display(raw["targetDeploymentItemName"]),
      snapshotFinishedDate: fields.snapshotFinishedDate,
      restoreScheduledDate: fields.restoreScheduledDate,
      restoreFinishedDate: fields.restoreFinishedDate,
      expirationDate: fields.expirationDate,
      // A tenant job names its cluster `clusterName`, a Flex job `instanceName`.
      clusterName: display(api === "tenant" ? raw["clusterName"] : raw["instanceName"]),
      status: toRestoreStatus(fields.status),
      rawStatus: fields.status,
    }),
  };
}

const pageSchema = z.object({
  results: z.array(z.unknown()),
  totalCount: z.number().int().nonnegative().optional(),
  links: z.array(z.object({ rel: z.string().optional(), href: z.string().optional() })).optional(),
});

/** One decoded page of a LIST answer: the raw results (decoded one by one) and paging hints. */
export type DecodedPage =
  | {
      readonly ok: true;
      readonly results: readonly unknown[];
      readonly totalCount: number | undefined;
      readonly hasNext: boolean;
    }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Decodes the envelope of a LIST answer (`{results, totalCount, links}`). */
export function decodePage(body: unknown): DecodedPage {
  const parsed = pageSchema.safeParse(body);
  if (!parsed.success) return { ok: false, problems: describeIssues(parsed.error.issues) };
  return {
    ok: true,
    results: parsed.data.results,
    totalCount: parsed.data.totalCount,
    hasNext: (parsed.data.links ?? []).some((link) => link.rel === "next"),
  };
}

/** A project as discovery needs it: its id (Atlas's `Group`; the other fields are not read). */
export interface ProjectSummary {
  readonly id: string;
  readonly name?: string;
}

/** A Flex cluster as discovery needs it: its name (`FlexClusterDescription20241113`). */
export interface FlexClusterSummary {
  readonly name: string;
}

// Strict on what discovery decides on (ids and names), blind to every other field.
const projectSchema = z.object({ id: objectId, name: z.string().optional().catch(undefined) });
const flexClusterSchema = z.object({ name });

/** Decodes one item of an organization's project list. */
export function decodeProject(
  item: unknown,
): { ok: true; value: ProjectSummary } | { ok: false; problems: readonly string[] } {
  const parsed = projectSchema.safeParse(item);
  if (!parsed.success) return { ok: false, problems: describeIssues(parsed.error.issues) };
  const { id, name: projectName } = parsed.data;
  return { ok: true, value: projectName === undefined ? { id } : { id, name: projectName } };
}

/** Decodes one item of a project's Flex cluster list. */
export function decodeFlexCluster(
  item: unknown,
): { ok: true; value: FlexClusterSummary } | { ok: false; problems: readonly string[] } {
  const parsed = flexClusterSchema.safeParse(item);
  if (!parsed.success) return { ok: false, problems: describeIssues(parsed.error.issues) };
  return { ok: true, value: { name: parsed.data.name } };
}
