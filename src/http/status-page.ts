/**
 * GET /: the status page, server-rendered HTML with no script and no external asset, that
 * reloads itself every few seconds. Failed and running jobs first, a page of 100 at a time;
 * then the last transitions, what discovery watches, the last configuration reload, and links
 * to /metrics, /healthz and /readyz. Every value goes through `markup`, which escapes it.
 */
import { ALL_STATUSES } from "../atlas/model.js";
import { markup, SafeHtml } from "./html.js";
import {
  NOT_SEEN,
  parseJobQuery,
  selectJobs,
  type JobPage,
  type PageSizeLimits,
} from "./job-query.js";
import { jobView, problemAnswer, type Answer, type JobView } from "./jobs-api.js";
import type { ListingStatus } from "../discovery/discovery.js";
import type { ClusterStatus, ReloadStatus, WatchStatus } from "../discovery/watch-status.js";
import type { StatusSnapshot, TransitionRecord } from "./status-snapshot.js";

/** Jobs per page of the HTML page: 100 by default, 1,000 at most. */
export const PAGE_SIZE: PageSizeLimits = { default: 100, max: 1_000 };

/** Seconds between the page's own reloads. */
export const REFRESH_SECONDS = 5;

/** Headers of the page: no script may run, no other origin is loaded, nothing is framed. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** The page's style sheet: a constant of this file, so it is markup as it stands. */
const STYLE = new SafeHtml(`
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d2125;background:#fff}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.15em;margin:1.4em 0 .4em}
nav a,.filters a{margin-right:.9em}
.meta,.project{color:#555}
.project{font-size:.8em}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #ddd;vertical-align:top}
td>code,td>time{white-space:nowrap}
th{background:#f3f4f6}
.status{display:inline-block;padding:0 .5em;border-radius:3px;font-weight:600;white-space:nowrap}
.status-FAILED{background:#c62828;color:#fff}
.status-RUNNING{background:#1565c0;color:#fff}
.status-QUEUED,.status-PENDING{background:#e3e7ee;color:#1d2125}
.status-COMPLETED{background:#2e7d32;color:#fff}
.status-UNKNOWN{background:#ef6c00;color:#fff}
.status-NOT_SEEN{color:#555;border:1px dashed #999}
tr.failed td{background:#fdecea}
.error{color:#b71c1c;overflow-wrap:break-word}
td:last-child{min-width:14em}
.filters .current{font-weight:700}
.none{color:#555;font-style:italic}
`);

/** "2026-12-02 11:00:00Z", or nothing. */
function time(ms: number | undefined): string {
  if (ms === undefined) return "";
  return new Date(ms)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "Z");
}

/** A time in a table cell, kept on one line. */
function timeCell(ms: number | undefined): SafeHtml {
  if (ms === undefined) return markup``;
  return markup`<time datetime="${new Date(ms).toISOString()}">${time(ms)}</time>`;
}

function parsed(iso: string | undefined): number | undefined {
  return iso === undefined ? undefined : Date.parse(iso);
}

/** "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function ago(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s ago`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3_600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}

function statusBadge(status: string | null, raw?: string): SafeHtml {
  const key = status ?? NOT_SEEN;
  const text = status === null ? "not seen yet" : status === "UNKNOWN" && raw ? raw : status;
  return markup`<span class="status status-${key}">${text}</span>`;
}

function errorCell(view: JobView): SafeHtml {
  const error = view.error;
  if (!error) return markup``;
  const code = [error.status !== undefined ? `HTTP ${error.status}` : "", error.errorCode ?? ""]
    .filter(Boolean)
    .join(" ");
  const detail = error.detail ? markup`: ${error.detail}` : "";
  return markup`<span class="error"><code>${error.kind}</code>${code ? ` ${code}` : ""}${detail}</span>`;
}

function jobRow(view: JobView, now: number): SafeHtml {
  const success = parsed(view.lastSuccessAt);
  const age =
    success === undefined ? markup`<span class="none">never</span>` : ago((now - success) / 1000);
  return markup`<tr class="${view.status === "FAILED" ? "failed" : ""}">\
<td>${view.clusterName}<div class="project">project <code>${view.groupId}</code></div></td>\
<td><code>${view.restoreId}</code></td>\
<td>${view.api}</td>\
<td>${statusBadge(view.status, view.rawStatus)}</td>\
<td>${timeCell(parsed(view.scheduledAt))}</td>\
<td>${timeCell(parsed(view.finishedAt))}</td>\
<td>${age}</td>\
<td>${errorCell(view)}</td></tr>
`;
}

/** The query string of a page of the list, or "./" for the first page of everything. */
function link(status: string | undefined, page: number, pageSize: number): string {
  const params = new URLSearchParams();
  if (status !== undefined) params.set("status", status);
  if (page > 1) params.set("page", String(page));
  if (pageSize !== PAGE_SIZE.default) params.set("limit", String(pageSize));
  const query = params.toString();
  return query ? `?${query}` : "./";
}

function filters(page: JobPage, current: string | undefined): SafeHtml {
  const total = Object.values(page.counts).reduce((sum, n) => sum + n, 0);
  const options: [string | undefined, string, number][] = [
    [undefined, "all", total],
    ...[...ALL_STATUSES, NOT_SEEN].map((status): [string, string, number] => [
      status,
      status === NOT_SEEN ? "not seen yet" : status,
      page.counts[status] ?? 0,
    ]),
  ];
  const shown = options.filter(
    ([status, , count]) => status === undefined || count > 0 || status === current,
  );
  return markup`<p class="filters">${shown.map(
    ([status, label, count]) =>
      markup`<a href="${link(status, 1, page.pageSize)}" class="${status === current ? "current" : ""}">${label} (${count})</a>`,
  )}</p>`;
}

function pager(page: JobPage, status: string | undefined): SafeHtml {
  if (page.pages === 1) return markup``;
  const previous =
    page.page > 1
      ? markup`<a href="${link(status, page.page - 1, page.pageSize)}">← previous</a> `
      : "";
  const next =
    page.page < page.pages
      ? markup` <a href="${link(status, page.page + 1, page.pageSize)}">next →</a>`
      : "";
  return markup`<p class="pager">${previous}page ${page.page} of ${page.pages}${next}</p>`;
}

function transitionItem(record: TransitionRecord, now: number): SafeHtml {
  const from =
    record.from === null ? markup`<span class="none">first seen</span>` : statusBadge(record.from);
  return markup`<li><span title="${time(record.at)}">${ago((now - record.at) / 1000)}</span> \
<strong>${record.clusterName}</strong> <code>${record.restoreId}</code> (${record.api}): \
${from} → ${statusBadge(record.to)}</li>
`;
}

/** "listed 30 s ago", or the kind of the last failure. */
function listingState(listing: ListingStatus, now: number): SafeHtml {
  if (listing.errorKind !== undefined)
    return markup`<span class="error">${listing.errorKind}</span>`;
  if (listing.lastSuccessAt === undefined) return markup`<span class="none">not listed yet</span>`;
  return markup`listed ${ago((now - listing.lastSuccessAt) / 1000)}`;
}

function clusterRow(cluster: ClusterStatus, now: number): SafeHtml {
  const last =
    cluster.lastResult === "ok" || cluster.lastResult === "pending"
      ? listingState(cluster, now)
      : markup`<span class="error">${cluster.lastResult === "gone" ? "gone (404)" : (cluster.errorKind ?? "error")}</span>`;
  return markup`<tr><td>${cluster.clusterName}</td><td><code>${cluster.groupId}</code></td>\
<td>${cluster.api}</td><td>${cluster.source}</td><td>${last}</td><td>${cluster.jobs}</td></tr>
`;
}

function watchedSection(watched: WatchStatus | undefined, now: number): SafeHtml {
  if (
    !watched ||
    watched.organizations.length + watched.projects.length + watched.clusters.length === 0
  ) {
    return markup`<p class="none">nothing watched by discovery</p>`;
  }
  const organizations = watched.organizations.map(
    (org) =>
      markup`<li>Organization <code>${org.orgId}</code>: ${org.projects} projects, ${listingState(org, now)}</li>`,
  );
  const projects = watched.projects.map(
    (project) =>
      markup`<li>Project <code>${project.groupId}</code> (${project.source}): ${project.clusters} clusters, ${listingState(project, now)}</li>`,
  );
  const last =
    watched.lastDiscoveryAt !== undefined
      ? markup`<p class="meta">Last discovery ${ago((now - watched.lastDiscoveryAt) / 1000)} (${time(watched.lastDiscoveryAt)}).</p>`
      : "";
  const clusters =
    watched.clusters.length === 0
      ? markup`<p class="none">no cluster</p>`
      : markup`<table><thead><tr><th>Cluster</th><th>Project</th><th>API</th><th>From</th>\
<th>Last LIST</th><th>Jobs listed</th></tr></thead>
<tbody>
${watched.clusters.map((cluster) => clusterRow(cluster, now))}</tbody></table>`;
  return markup`<ul>${organizations}${projects}</ul>${clusters}${last}`;
}

function reloadSection(reload: ReloadStatus | undefined, now: number): SafeHtml {
  if (!reload) return markup`<p class="none">not loaded yet</p>`;
  const outcome = reload.successful
    ? markup`<span class="status status-COMPLETED">applied</span>`
    : markup`<span class="status status-FAILED">refused</span>, the running configuration stays`;
  const problems =
    reload.problems.length > 0
      ? markup`<ul>${reload.problems.map((problem) => markup`<li class="error">${problem}</li>`)}</ul>`
      : "";
  const restart =
    reload.restartRequired.length > 0
      ? markup`<p class="meta">Changed, applied at the next restart: ${reload.restartRequired.join(", ")}.</p>`
      : "";
  return markup`<p>Last load ${ago((now - reload.at) / 1000)} (${time(reload.at)}): ${outcome}</p>${problems}${restart}`;
}

function jobsTable(views: readonly JobView[], now: number): SafeHtml {
  return markup`<table><thead><tr><th>Cluster</th><th>Restore id</th><th>API</th>\
<th>Status</th><th>Scheduled</th><th>Finished</th><th>Last poll succeeded</th><th>Last error</th>\
</tr></thead>
<tbody>
${views.map((view) => jobRow(view, now))}</tbody></table>`;
}

/** Renders the page for one page of jobs (`status` is the filter, if any). */
export function renderStatusPage(
  snapshot: StatusSnapshot,
  page: JobPage,
  status: string | undefined,
): string {
  const { now } = snapshot;
  const views = page.jobs.map((job) => jobView(job, snapshot.errors, now));
  const failed = page.counts.FAILED ?? 0;
  const readiness = snapshot.ready ? "ready" : "not ready yet: the first poll cycle is running";
  const jobs =
    page.total === 0
      ? markup`<p class="none">no job${status !== undefined ? ` in status ${status}` : ""}</p>`
      : jobsTable(views, now);
  const transitions =
    snapshot.transitions.length === 0
      ? markup`<p class="none">no transition since start</p>`
      : markup`<ol>
${snapshot.transitions.map((record) => transitionItem(record, now))}</ol>`;
  return markup`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>atlas-restore-watch${failed > 0 ? ` (${failed} failed)` : ""}</title>
<style>${STYLE}</style></head>
<body>
<header><h1>atlas-restore-watch</h1>
<p class="meta">Version ${snapshot.version}, started ${ago((now - snapshot.startedAt) / 1000)} \
(${time(snapshot.startedAt)}), ${readiness}. Page generated ${time(now)}, reloads every \
${REFRESH_SECONDS} s.</p>
<nav><a href="metrics">/metrics</a><a href="healthz">/healthz</a><a href="readyz">/readyz</a>\
<a href="api/jobs">/api/jobs</a></nav></header>
<section id="jobs"><h2>Restore jobs</h2>
${filters(page, status)}
${jobs}
${pager(page, status)}</section>
<section id="transitions"><h2>Last transitions</h2>
${transitions}</section>
<section id="watched"><h2>Watched</h2>
${watchedSection(snapshot.watched, now)}</section>
<section id="reload"><h2>Configuration</h2>
${reloadSection(snapshot.lastReload, now)}</section>
</body></html>
`.text;
}

/** Answers GET / with the query string `search` (without `?`). */
export function statusPageAnswer(snapshot: StatusSnapshot, search: string): Answer {
  const query = parseJobQuery(search, PAGE_SIZE);
  if ("httpStatus" in query) return problemAnswer(query);
  const page = selectJobs(snapshot.jobs, query);
  if ("httpStatus" in page) return problemAnswer(page);
  return {
    status: 200,
    contentType: "text/html; charset=utf-8",
    body: renderStatusPage(snapshot, page, query.status),
    headers: PAGE_HEADERS,
  };
}
