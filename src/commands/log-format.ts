/**
 * One readable line per log line, for people watching the demo: the time, the level, the job and
 * what happened, from the same JSON the daemon writes for machines. A line that is not the
 * daemon's JSON is shown as it is.
 */

/** pino's level numbers, as words of equal width. */
const LEVELS: Readonly<Record<number, string>> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};

/** ANSI colours of the levels that need attention, for a terminal. */
const COLOURS: Readonly<Record<number, string>> = {
  40: "\u001b[33m",
  50: "\u001b[31m",
  60: "\u001b[31m",
};
const RESET = "\u001b[0m";

/** Fields shown by the line's own words, or noise for a person. */
const SHOWN = new Set([
  "level",
  "time",
  "service",
  "msg",
  "event",
  "groupId",
  "clusterName",
  "restoreId",
  "api",
]);

type Entry = Readonly<Record<string, unknown>>;

function text(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function job(entry: Entry): string {
  const api = entry.api !== undefined ? ` (${text(entry.api)})` : "";
  return `${text(entry.clusterName)} ${text(entry.restoreId)}${api}`;
}

function seconds(value: unknown): string {
  return typeof value === "number" ? ` after ${Math.round(value)} s` : "";
}

/** What happened, in words; undefined for an event without its own wording. */
function describe(entry: Entry): string | undefined {
  switch (entry.event) {
    case "restore_transition": {
      const to =
        entry.to === "UNKNOWN" && entry.rawStatus
          ? `UNKNOWN (${text(entry.rawStatus)})`
          : text(entry.to);
      if (entry.from === null) return `${job(entry)}: first seen, ${to}`;
      const took =
        entry.durationSeconds !== undefined
          ? `, ${Math.round(Number(entry.durationSeconds))} s from scheduled to finished`
          : "";
      return `${job(entry)}: ${text(entry.from)} → ${to}${seconds(entry.previousStatusSeconds)}${took}`;
    }
    case "restore_status_regressed":
      return `${job(entry)}: status went backwards, ${text(entry.from)} → ${text(entry.to)}`;
    case "restore_poll_error": {
      const http =
        entry.status !== undefined
          ? ` HTTP ${text(entry.status)}${entry.errorCode ? ` ${text(entry.errorCode)}` : ""}`
          : "";
      const detail = entry.detail !== undefined ? `: ${text(entry.detail)}` : "";
      return `${job(entry)}: poll failed, ${text(entry.errorKind)}${http}${detail}`;
    }
    case "restore_poll_recovered":
      return `${job(entry)}: polls succeed again (after ${text(entry.previousErrorKind)})`;
    case "restore_api_switched":
      return `${job(entry)}: moved from the ${text(entry.from)} to the ${text(entry.to)} API (${text(entry.reason)})`;
    case "restore_api_deprecated":
      return `Atlas announced the end of the ${text(entry.api)} API: deprecated ${text(entry.deprecation ?? "?")}, sunset ${text(entry.sunset ?? "not given")}`;
    case "daemon_started": {
      const watch = entry.watch !== undefined ? `, ${text(entry.watch)} watch entries` : "";
      return `started ${text(entry.version)}: ${text(entry.jobs)} jobs${watch}, schedule "${text(entry.schedule)}", api ${text(entry.api)}, ${text(entry.auth)}, listening on ${text(entry.listen)}`;
    }
    case "cluster_watch_started":
      return `watching ${text(entry.clusterName)} in project ${text(entry.groupId)} (found by ${text(entry.source)})`;
    case "cluster_watch_stopped":
      return `no longer watching ${text(entry.clusterName)} in project ${text(entry.groupId)}`;
    case "config_reloaded": {
      const restart = Array.isArray(entry.restartRequired) ? entry.restartRequired : [];
      const later = restart.length > 0 ? `; needs a restart: ${restart.join(", ")}` : "";
      return `configuration reloaded: ${text(entry.jobs)} jobs, ${text(entry.watch)} watch entries${later}`;
    }
    case "config_reload_failed": {
      const problems = Array.isArray(entry.problems) ? entry.problems.map(text) : [];
      return `configuration not reloaded, the running one stays: ${problems.join("; ")}`;
    }
    default:
      return undefined;
  }
}

/** Formats one stdout line of the daemon; `colour` adds ANSI colours to WARN and worse. */
export function formatLogLine(line: string, colour = false): string {
  let entry: Entry;
  try {
    const parsed: unknown = JSON.parse(line);
    if (
      typeof parsed !== "object" ||
      parsed === null ||
      typeof (parsed as Entry).level !== "number"
    )
      return line;
    entry = parsed as Entry;
  } catch {
    return line;
  }
  const level = entry.level as number;
  const time =
    typeof entry.time === "number" ? new Date(entry.time).toISOString().slice(11, 19) : "--:--:--";
  const label = LEVELS[level] ?? String(level);
  const shownLevel = colour && COLOURS[level] ? `${COLOURS[level]}${label}${RESET}` : label;
  let words = describe(entry);
  if (words === undefined) {
    const rest = Object.entries(entry)
      .filter(([key, value]) => !SHOWN.has(key) && value !== undefined)
      .map(([key, value]) => `${key}=${text(value)}`);
    const who = entry.restoreId !== undefined ? `${job(entry)}: ` : "";
    words = [`${who}${text(entry.msg)}`, ...rest].join(" ");
  }
  return `${time} ${shownLevel} ${words}`;
}
