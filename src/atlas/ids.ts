/**
 * Atlas's patterns for the identifiers a restore job is named by (Administration API v2
 * specification): project and job ids are 24 lowercase hex digits; a cluster (tenant
 * `clusterName`, Flex `name`) is letters, digits and hyphens.
 */
import { z } from "zod";

/** groupId, restoreId, restoreJobId: `^([a-f0-9]{24})$`. */
export const OBJECT_ID_PATTERN = /^([a-f0-9]{24})$/;

/** clusterName, name: `^[a-zA-Z0-9][a-zA-Z0-9-]*$`. */
export const CLUSTER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9-]*$/;

/** Longest cluster name Atlas accepts. */
export const MAX_CLUSTER_NAME_LENGTH = 64;

/** Why a value is not an object id; reads after the quoted value. */
export const NOT_AN_OBJECT_ID = "is not a 24-character lowercase hexadecimal id";

/** Why a value is not a cluster name; reads after the quoted value. */
export const NOT_A_CLUSTER_NAME =
  "is not a cluster name (letters, digits and hyphens, not starting with a hyphen)";

/** A project or restore-job id. */
export const objectIdSchema = z.string().regex(OBJECT_ID_PATTERN, NOT_AN_OBJECT_ID);

/** A cluster name on either family. */
export const clusterNameSchema = z
  .string()
  .regex(CLUSTER_NAME_PATTERN, NOT_A_CLUSTER_NAME)
  .max(MAX_CLUSTER_NAME_LENGTH, `is longer than ${MAX_CLUSTER_NAME_LENGTH} characters`);

/**
 * When an object id was created, epoch milliseconds: its first four bytes are the creation time
 * in epoch seconds. Atlas gives a dedicated restore job no other creation date.
 */
export function objectIdTime(id: string): number {
  return Number.parseInt(id.slice(0, 8), 16) * 1000;
}
