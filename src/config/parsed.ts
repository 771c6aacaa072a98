/** The outcome of parsing one configuration value. */

/**
 * The value, or why it was refused: `reason` reads after the quoted value, e.g.
 * `is not one of auto, tenant, flex`.
 */
export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

/** A successful parse. */
export function accept<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

/** A refused value, with the reason that follows the quoted value in the message. */
export function refuse<T>(reason: string): Parsed<T> {
  return { ok: false, reason };
}
