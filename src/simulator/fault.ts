/**
 * Faults the simulator injects to test clients against a misbehaving Atlas: their kinds, their
 * schema (shared by scenario files, `addFault()` and `POST /_sim/faults`) and their type.
 */
import { z } from "zod";

/** Every kind of fault, see the README for what each answers. */
export const FAULT_KINDS = [
  "rate_limit",
  "server_error",
  "unavailable",
  "slow_headers",
  "slow_body",
  "reset",
  "malformed_json",
  "wrong_content_type",
  "wrong_id",
  "invalid_body",
  "not_found",
  "gone",
  "unauthorized",
  "forbidden",
  "huge_body",
  "lying_length",
] as const;

/** One kind of fault. */
export type FaultKind = (typeof FAULT_KINDS)[number];

const seconds = z.number().finite().nonnegative();

/** Validates one fault; unknown keys are rejected. */
export const faultSchema = z
  .strictObject({
    kind: z.enum(FAULT_KINDS),
    match: z
      .strictObject({
        api: z
          .enum(["tenant", "flex", "dedicated", "token", "revoke", "groups", "flexClusters"])
          .optional(),
        orgId: z.string().optional(),
        groupId: z.string().optional(),
        clusterName: z.string().optional(),
        restoreId: z.string().optional(),
        list: z.boolean().optional(),
      })
      .optional(),
    times: z.int().positive().optional(),
    afterSeconds: seconds.optional(),
    untilSeconds: seconds.optional(),
    retryAfterSeconds: z.int().nonnegative().optional(),
    rateLimitHeaders: z.boolean().optional(),
    delayMs: z.number().finite().nonnegative().optional(),
    sizeBytes: z.int().positive().optional(),
    detail: z.string().max(1_000).optional(),
  })
  .superRefine((f, ctx) => {
    if (
      f.afterSeconds !== undefined &&
      f.untilSeconds !== undefined &&
      f.untilSeconds <= f.afterSeconds
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["untilSeconds"],
        input: f.untilSeconds,
        message: `must be later than afterSeconds (${f.afterSeconds})`,
      });
    }
  });

/**
 * A fault: `match` narrows it (absent fields match everything; an absent `api` means both
 * restore-job families but neither the token endpoint nor the discovery listings; `list` picks
 * LIST or GET-one answers), `times` uses it up, the window limits it in time.
 */
export type Fault = z.output<typeof faultSchema>;
