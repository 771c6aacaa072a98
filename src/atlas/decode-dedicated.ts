/**
 * Decoding of untrusted dedicated restore-job bodies (DiskBackupSnapshotRestoreJob, 2023-01-01)
 * into the shared RestoreJob. Strict on what the status and the dates are derived from (the id,
 * the flags `failed`, `cancelled` and `expired`, `finishedAt`, `deliveryUrl`, `components`):
 * a value of the wrong type there fails the body, so that a status is never guessed. Lenient on
 * what is only shown (delivery type, snapshot, target, `expiresAt`): a value outside the schema,
 * such as a delivery type Atlas adds later, is kept as bounded text or left out. A flag that is
 * absent counts as false (the specification requires none of them).
 */
import { z } from "zod";
import { deriveDedicatedStatus } from "../tracker/dedicated-status.js";
import type { DecodeResult } from "./decode.js";
import { OBJECT_ID_PATTERN, objectIdTime } from "./ids.js";
import type { DedicatedFlags, RestoreJob } from "./model.js";

/** Longest display text kept from a body. */
const MAX_DISPLAY_TEXT = 200;

const date = z.iso.datetime({ offset: true, message: "is not an ISO-8601 date-time" });

/** A field only shown: a non-empty string, cut to a bound; anything else is left out. */
const display = z
  .unknown()
  .optional()
  .transform((value) =>
    typeof value === "string" && value !== ""
      ? Array.from(value).slice(0, MAX_DISPLAY_TEXT).join("")
      : undefined,
  );

/** A date only shown: kept when it is one, left out otherwise. */
const displayDate = z
  .unknown()
  .optional()
  .transform((value) => (date.safeParse(value).success ? (value as string) : undefined));

const flag = z.boolean().optional();

const dedicatedSchema = z.object({
  id: z.string().regex(OBJECT_ID_PATTERN, "is not a 24-character hexadecimal id"),
  failed: flag,
  cancelled: flag,
  expired: flag,
  finishedAt: date.optional(),
  deliveryUrl: z.array(z.string()).optional(),
  components: z.array(z.object({ downloadUrl: z.string().optional() })).optional(),
  deliveryType: display,
  snapshotId: display,
  targetGroupId: display,
  targetClusterName: display,
  targetDeploymentItemName: display,
  expiresAt: displayDate,
});

function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    if (issue.code === "invalid_type" && issue.input === undefined) {
      return `${path || "body"}: is missing`;
    }
    return `${path || "body"}: ${issue.message}`;
  });
}

/** Epoch milliseconds as ISO-8601 UTC to the second, as Atlas writes dates. */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}

/**
 * Decodes one dedicated restore-job document. The status is derived from its flags; the
 * scheduled date is the id's creation time (the body has none); `finishedAt` is the finished
 * date; the target is `targetDeploymentItemName`, else `targetClusterName`.
 */
export function decodeDedicatedRestoreJob(body: unknown): DecodeResult {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, problems: ["body: is not a JSON object"] };
  }
  const parsed = dedicatedSchema.safeParse(body, { reportInput: true });
  if (!parsed.success) return { ok: false, problems: describeIssues(parsed.error.issues) };
  const data = parsed.data;
  const flags: DedicatedFlags = {
    failed: data.failed ?? false,
    cancelled: data.cancelled ?? false,
    expired: data.expired ?? false,
    finished: data.finishedAt !== undefined,
    deliveryUrls: (data.deliveryUrl ?? []).filter((url) => url !== "").length,
    componentUrls: (data.components ?? []).filter((c) => (c.downloadUrl ?? "") !== "").length,
  };
  const status = deriveDedicatedStatus(flags, data.deliveryType);
  const target = data.targetDeploymentItemName ?? data.targetClusterName;
  const fields: Record<string, string | undefined> = {
    deliveryType: data.deliveryType,
    snapshotId: data.snapshotId,
    targetProjectId: data.targetGroupId,
    targetDeploymentItemName: target,
    restoreScheduledDate: isoSeconds(objectIdTime(data.id)),
    restoreFinishedDate: data.finishedAt,
    expirationDate: data.expiresAt,
  };
  const job = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return {
    ok: true,
    job: { ...job, id: data.id, status, rawStatus: status, flags } as RestoreJob,
  };
}
