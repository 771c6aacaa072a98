/**
 * The Grafana dashboard's queries, as the checks read them: each panel target's PromQL with
 * Grafana's own variables replaced by what Prometheus understands, and the metrics it names.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./tools.js";

/** The shipped dashboard, relative to the repository root. */
export const DASHBOARD_FILE = "config/grafana/atlas-restore-watch.json";

/**
 * Metrics the dashboard shows before the daemon exports them. The checks tolerate their absence
 * from /metrics and skip their queries in the end-to-end test; once they are exported, a check
 * fails and asks for this list to be emptied. Empty: discovery's and reload's metrics (issue 10)
 * are exported.
 */
export const PENDING_METRICS: readonly string[] = [];

/** What `$__rate_interval` becomes outside Grafana: four of the tests' 1 s scrape intervals, with room. */
export const RATE_INTERVAL = "1m";

/** One panel target. */
export interface DashboardQuery {
  readonly panel: string;
  readonly refId: string;
  /** As written in the dashboard. */
  readonly expr: string;
  /** With Grafana's variables replaced: plain PromQL. */
  readonly promql: string;
  /** The metric names it reads (histogram series by their family's name). */
  readonly metrics: readonly string[];
}

/** The parts of the dashboard JSON the checks read. */
export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly datasource?: { type: string; uid: string };
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly targets?: { refId: string; expr: string; datasource?: { type: string; uid: string } }[];
}

/** The dashboard as JSON. */
export interface Dashboard {
  readonly id: null;
  readonly uid: string;
  readonly title: string;
  readonly templating: { list: { name: string; type: string; query: string }[] };
  readonly panels: readonly Panel[];
}

/** Reads the shipped dashboard. */
export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(join(ROOT, DASHBOARD_FILE), "utf8")) as Dashboard;
}

/** Replaces Grafana's variables; any other `$` is an error, since Prometheus would refuse it. */
export function toPromQL(expr: string): string {
  const promql = expr.replaceAll("$__rate_interval", RATE_INTERVAL);
  if (promql.includes("$")) throw new Error(`unknown Grafana variable in ${expr}`);
  return promql;
}

/** The project's and the process's metric names in `promql`. */
export function metricNames(promql: string): string[] {
  const names = promql.match(/\b(?:atlas_restore|process|nodejs)_[a-z0-9_]+\b/g) ?? [];
  return [...new Set(names.map((name) => name.replace(/_(bucket|sum|count)$/, "")))].sort();
}

/** Every panel target of the dashboard. */
export function dashboardQueries(dashboard: Dashboard = readDashboard()): DashboardQuery[] {
  return dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => {
      const promql = toPromQL(target.expr);
      return {
        panel: panel.title,
        refId: target.refId,
        expr: target.expr,
        promql,
        metrics: metricNames(promql),
      };
    }),
  );
}

/** True when a query reads a metric that is not exported yet (see PENDING_METRICS). */
export function isPending(query: DashboardQuery): boolean {
  return query.metrics.some((name) => PENDING_METRICS.includes(name));
}

/** The metric families a /metrics exposition declares, from its `# TYPE` lines. */
export function exposedFamilies(exposition: string): Set<string> {
  return new Set([...exposition.matchAll(/^# TYPE (\S+) \S+$/gm)].map((match) => match[1] ?? ""));
}
