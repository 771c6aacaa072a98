/**
 * The README is the operators' reference: every event the daemon logs, every metric it exports
 * and every variable it reads must have a row in one of its tables, and every file it links to
 * must exist. The names are extracted from
 * the sources, so that an event or metric added anywhere under src/ fails this test until it is
 * documented.
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** Every .ts file under `dir`, with its text; the simulator has a README of its own. */
function sources(dir: string): { path: string; text: string }[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts") && !name.startsWith("simulator"))
    .map((name) => ({ path: join(dir, name), text: readFileSync(join(ROOT, dir, name), "utf8") }));
}

const SRC = sources("src");

/** Every match of group 1 of `pattern` over the sources, with where it was found. */
function extract(pattern: RegExp): Map<string, string> {
  const found = new Map<string, string>();
  for (const { path, text } of SRC) {
    for (const match of text.matchAll(pattern)) {
      if (match[1] !== undefined && !found.has(match[1])) found.set(match[1], path);
    }
  }
  return found;
}

/** The names in backticks in the first cell of a README table row: what its tables document. */
const documented = new Set(
  [...README.matchAll(/^\|([^|\n]*)\|/gm)].flatMap((row) =>
    [...(row[1] ?? "").matchAll(/`([^`\n]+)`/g)].map((m) => m[1]),
  ),
);

/** Every name in backticks anywhere in the README. */
const mentioned = new Set([...README.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]));

function undocumented(names: Map<string, string>, known: Set<string | undefined> = documented) {
  return [...names].filter(([name]) => !known.has(name)).map(([n, at]) => `${n} (${at})`);
}

// Log events: `event: "name"` in a log call's fields, however the call is written.
const EVENTS = extract(/\bevent:\s*["'`]([a-z][a-z0-9_]*)["'`]/g);
// Metrics: prom-client's `name: "..."`, and any project metric name in a string or template
// (the per-job families are written as text in job-exposition.ts).
const METRICS = new Map([
  ...extract(/\bname:\s*["'`]([a-z_:][a-z0-9_:]*)["'`]/g),
  ...extract(/["'`](atlas_restore_[a-z0-9_]+)/g),
]);
// Environment variables the daemon reads: quoted, or as the key of a table of variables.
const VARIABLES = extract(
  /(?:["'`]|^\s+)((?:RESTORE_WATCH|MONGODB_ATLAS)_[A-Z0-9_]+)(?:["'`]|:)/gm,
);

describe("the README", () => {
  it("finds what it checks: the extraction itself works", () => {
    for (const event of ["restore_transition", "state_save_recovered", "poll_internal_error"]) {
      expect(EVENTS.has(event), event).toBe(true);
    }
    for (const metric of ["atlas_restore_api_up", "atlas_restore_job_poll_success"]) {
      expect(METRICS.has(metric), metric).toBe(true);
    }
    expect(VARIABLES.has("RESTORE_WATCH_SCHEDULE")).toBe(true);
    expect(EVENTS.size).toBeGreaterThan(20);
    expect(METRICS.size).toBeGreaterThan(15);
  });

  it("documents every event the daemon logs in a table row", () => {
    expect(undocumented(EVENTS)).toEqual([]);
  });

  it("documents every metric the daemon exports in a table row", () => {
    // A prom-client name that is not ours would be a default metric, which is not exported
    // under a `name:` of ours; every name found is one of the daemon's.
    expect(undocumented(METRICS)).toEqual([]);
  });

  it("names every environment variable the daemon reads", () => {
    expect(undocumented(VARIABLES, mentioned)).toEqual([]);
  });

  it("links only to files that exist", () => {
    const links = [...README.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
      .map((m) => m[1] as string)
      .filter((target) => !/^[a-z]+:/.test(target));
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((target) => !existsSync(join(ROOT, target)))).toEqual([]);
  });
});
