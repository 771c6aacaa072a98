/** Wording shared by configuration problems: quoted values, key paths, file read failures. */

/** Longest quoted value shown in a problem, in characters, before it is cut with `…`. */
export const MAX_QUOTED_LENGTH = 60;

/**
 * A value as it appears in a problem message: JSON-quoted, cut to about 60 characters. Never
 * call it with a secret.
 */
export function quoteValue(value: unknown): string {
  if (typeof value === "string") {
    const chars = Array.from(value);
    return chars.length > MAX_QUOTED_LENGTH - 2
      ? JSON.stringify(`${chars.slice(0, MAX_QUOTED_LENGTH - 3).join("")}…`)
      : JSON.stringify(value);
  }
  // JSON would print NaN and Infinity (YAML .nan, .inf) as null.
  if (typeof value === "number") return String(value);
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // A YAML alias can make a cycle.
    text = "<unprintable value>";
  }
  return text.length > MAX_QUOTED_LENGTH ? `${text.slice(0, MAX_QUOTED_LENGTH - 1)}…` : text;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The path of a child key: `parent.name`, or `parent["odd name"]` when not an identifier. */
export function childKey(parent: string, name: string): string {
  if (!IDENTIFIER.test(name)) return `${parent}[${JSON.stringify(name)}]`;
  return parent === "" ? name : `${parent}.${name}`;
}

/** The path of a list item: `parent[index]`. */
export function itemKey(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** Describes what kind of value something is, for "expected a mapping, got a list". */
export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  if (typeof value === "boolean") return "a boolean";
  return typeof value;
}

/** Why a file could not be read, from a Node.js file-system error (its code only). */
export function describeReadError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "ENOENT":
      return "not found";
    case "EISDIR":
      return "is a directory";
    case "EACCES":
    case "EPERM":
      return `cannot be read: permission denied (${code})`;
    default:
      return typeof code === "string"
        ? `cannot be read (${code})`
        : `cannot be read (${error instanceof Error ? error.message : String(error)})`;
  }
}

/** Whether a plain mapping (not a list, not null). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
