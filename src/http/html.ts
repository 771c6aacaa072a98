/**
 * HTML built from a tagged template that escapes every interpolated value unless it is already
 * HTML made by the same tag: everything the status page shows comes from Atlas or the
 * configuration, so text can never become markup by forgetting to escape it.
 */

/** A fragment of markup made by `markup`, safe to interpolate as is. */
export class SafeHtml {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

/** A value `markup` accepts: text (escaped), numbers, fragments, lists of these, or nothing. */
export type HtmlValue = SafeHtml | string | number | undefined | null | readonly HtmlValue[];

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for an HTML element or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ENTITIES[char] ?? char);
}

function render(value: HtmlValue): string {
  if (value === undefined || value === null) return "";
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  return escapeHtml(String(value));
}

/**
 * The tag: literal parts as written, every value escaped (see HtmlValue). Not named `html`, so
 * that Prettier leaves the markup as written instead of formatting it as a document.
 */
export function markup(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): SafeHtml {
  let out = strings[0] ?? "";
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? "");
  });
  return new SafeHtml(out);
}
