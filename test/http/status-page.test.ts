/**
 * The status page and /api/jobs over a real server on 127.0.0.1:0: what is shown, in which
 * order, escaped, paged, and how bad queries are answered.
 */
import { pino } from "pino";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { AtlasHttpError, AtlasTimeoutError } from "../../src/atlas/errors.js";
import type { RestoreStatus } from "../../src/atlas/model.js";
import { escapeHtml, markup } from "../../src/http/html.js";
import { RecentActivity, TRANSITIONS_KEPT } from "../../src/http/recent-activity.js";
import { startServer, type MetricsServer } from "../../src/http/server.js";
import type { ClusterStatus } from "../../src/discovery/watch-status.js";
import type { StatusSnapshot } from "../../src/http/status-snapshot.js";
import type { JobState } from "../../src/tracker/job-state.js";
import { GROUP, id } from "../support/fixtures.js";

const NOW = Date.parse("2026-12-02T12:00:00Z");
const HOSTILE = `<script>window.pwned=1</script><img src=x onerror="window.pwned=2">`;

function job(n: number, status: RestoreStatus | null, extra: Partial<JobState> = {}): JobState {
  return {
    groupId: GROUP,
    clusterName: `Cluster${n}`,
    restoreId: id(n),
    api: "tenant",
    status,
    ...(status !== null ? { lastSuccessAt: NOW - 12_000, lastTransitionAt: NOW - n * 1000 } : {}),
    ...extra,
  };
}

/** A watched Flex cluster of GROUP, found by watching its project, listed 30 s ago. */
function watchedCluster(overrides: Partial<ClusterStatus>): ClusterStatus {
  return {
    groupId: GROUP,
    clusterName: "Flex0",
    api: "flex",
    source: "project",
    lastResult: "ok",
    lastSuccessAt: NOW - 30_000,
    errorKind: undefined,
    jobs: 0,
    pages: 0,
    ...overrides,
  };
}

function snapshot(overrides: Partial<StatusSnapshot> = {}): StatusSnapshot {
  return {
    now: NOW,
    startedAt: NOW - 3_600_000,
    version: "1.2.3",
    ready: true,
    jobs: [],
    errors: new Map(),
    transitions: [],
    ...overrides,
  };
}

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(status: StatusSnapshot): Promise<string> {
  server = await startServer(
    {
      render: async () => [],
      contentType: "text/plain",
      isReady: () => true,
      status: () => status,
      logger: pino({ level: "silent" }),
    },
    "127.0.0.1",
    0,
  );
  return `http://127.0.0.1:${server.address.port}`;
}

async function get(url: string, method: "GET" | "HEAD" | "POST" = "GET") {
  const res = await request(url, { method });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** The restore ids of the page's table rows, in order. */
function rowIds(body: string): string[] {
  return [
    ...body.matchAll(
      /<tr class="[^"]*"><td>[^<]*<div class="project">project <code>[0-9a-f]{24}<\/code><\/div><\/td><td><code>([0-9a-f]{24})/g,
    ),
  ].map((m) => m[1] ?? "");
}

describe("markup", () => {
  it("escapes text and attributes, keeps its own fragments", () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe(
      "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
    );
    const inner = markup`<b>${"<i>"}</b>`;
    expect(
      markup`<p title="${'"onmouseover="x'}">${inner}${[1, " ", null, undefined]}</p>`.text,
    ).toBe('<p title="&quot;onmouseover=&quot;x"><b>&lt;i&gt;</b>1 </p>');
  });
});

describe("GET /", () => {
  it("shows each job's fields, the last error with Atlas's detail, and the links", async () => {
    const failing = job(2, "RUNNING", { errorKind: "http_404_CLUSTER_NOT_FOUND" });
    const base = await serve(
      snapshot({
        jobs: [
          job(1, "FAILED", {
            info: {
              scheduledAt: Date.parse("2026-12-02T11:00:00Z"),
              finishedAt: Date.parse("2026-12-02T11:05:30Z"),
            },
          }),
          failing,
        ],
        errors: new Map([
          [
            `${GROUP}/Cluster2/${id(2)}`,
            {
              kind: "http_404_CLUSTER_NOT_FOUND",
              at: NOW - 5_000,
              status: 404,
              errorCode: "CLUSTER_NOT_FOUND",
              detail: "No cluster named Cluster2 exists in group.",
            },
          ],
        ]),
      }),
    );
    const res = await get(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["content-security-policy"]).toContain("default-src 'none'");
    expect(res.body).toContain('<meta http-equiv="refresh" content="5">');
    // The style sheet is the page's own constant: served as written, not escaped.
    expect(res.body).toContain("td>code,td>time{white-space:nowrap}");
    expect(res.body).toContain("<title>atlas-restore-watch (1 failed)</title>");
    expect(res.body).toContain(
      `<tr class="failed"><td>Cluster1<div class="project">project <code>${GROUP}</code></div></td><td><code>${id(1)}</code></td><td>tenant</td><td><span class="status status-FAILED">FAILED</span></td><td><time datetime="2026-12-02T11:00:00.000Z">2026-12-02 11:00:00Z</time></td><td><time datetime="2026-12-02T11:05:30.000Z">2026-12-02 11:05:30Z</time></td><td>12 s ago</td><td></td></tr>`,
    );
    expect(res.body).toContain(
      '<span class="error"><code>http_404_CLUSTER_NOT_FOUND</code> HTTP 404 CLUSTER_NOT_FOUND: No cluster named Cluster2 exists in group.</span>',
    );
    for (const path of ["metrics", "healthz", "readyz", "api/jobs"]) {
      expect(res.body).toContain(`<a href="${path}">/${path}</a>`);
    }
    expect(res.body).not.toContain("<script");
  });

  it("shows an error's kind alone when this run has not seen Atlas's answer (after a restart)", async () => {
    const base = await serve(
      snapshot({ jobs: [job(3, "RUNNING", { errorKind: "timeout_headers" })] }),
    );
    expect((await get(`${base}/`)).body).toContain(
      '<span class="error"><code>timeout_headers</code></span>',
    );
  });

  it("escapes whatever Atlas or the configuration sent", async () => {
    const base = await serve(
      snapshot({
        jobs: [
          job(4, "UNKNOWN", { rawStatus: HOSTILE, clusterName: HOSTILE, errorKind: "decode" }),
        ],
        errors: new Map([
          [`${GROUP}/${HOSTILE}/${id(4)}`, { kind: "decode", at: NOW, detail: HOSTILE }],
        ]),
        transitions: [
          {
            at: NOW,
            groupId: GROUP,
            clusterName: HOSTILE,
            restoreId: id(4),
            api: "flex",
            from: null,
            to: "UNKNOWN",
          },
        ],
        watched: {
          organizations: [
            { orgId: HOSTILE, projects: 0, lastSuccessAt: undefined, errorKind: HOSTILE },
          ],
          projects: [],
          clusters: [watchedCluster({ clusterName: HOSTILE })],
          lastDiscoveryAt: undefined,
          lastReload: undefined,
        },
        lastReload: { at: NOW, successful: false, problems: [HOSTILE], restartRequired: [] },
      }),
    );
    const { body } = await get(`${base}/`);
    const escaped = escapeHtml(HOSTILE);
    expect(body).not.toContain("<script>window");
    expect(body).not.toContain("<img");
    // Cluster cell, raw status, error detail, transition, watched organization (its id and its
    // listing error) and cluster, reload problem.
    expect(body.split(escaped).length - 1).toBe(8);
  });

  it("puts failed, then running jobs first, then queued, pending, unknown, not seen, completed", async () => {
    const base = await serve(
      snapshot({
        jobs: [
          job(1, "COMPLETED"),
          job(2, null),
          job(3, "PENDING"),
          job(4, "RUNNING"),
          job(5, "FAILED"),
          job(6, "QUEUED"),
          job(7, "UNKNOWN", { rawStatus: "CANCELLED" }),
          job(8, "RUNNING"),
          job(9, "FAILED"),
        ],
      }),
    );
    // Within a status the latest change first: job(n) changed n seconds ago.
    expect(rowIds((await get(`${base}/`)).body)).toEqual([5, 9, 4, 8, 6, 3, 7, 2, 1].map(id));
  });

  it("pages 10,000 jobs 100 at a time, quickly, and filters by status", async () => {
    const jobs = Array.from({ length: 10_000 }, (_, n) =>
      job(n + 1, n % 1000 === 0 ? "FAILED" : "COMPLETED"),
    );
    const base = await serve(snapshot({ jobs }));
    await get(`${base}/`); // warm up
    const started = performance.now();
    const first = await get(`${base}/`);
    const elapsed = performance.now() - started;
    expect(rowIds(first.body)).toHaveLength(100);
    expect(rowIds(first.body).slice(0, 10)).toEqual(
      [1, 1001, 2001, 3001, 4001, 5001, 6001, 7001, 8001, 9001].map(id),
    );
    expect(first.body).toContain('page 1 of 100 <a href="?page=2">next →</a>');
    expect(first.body).toContain('<a href="?status=FAILED" class="">FAILED (10)</a>');
    expect(first.body).toContain('<a href="?status=COMPLETED" class="">COMPLETED (9990)</a>');
    // Generous for two shared cores: sorting and rendering a page takes a few ms.
    expect(elapsed).toBeLessThan(500);
    const last = await get(`${base}/?page=100`);
    expect(rowIds(last.body)).toHaveLength(100);
    expect(last.body).toContain('<a href="?page=99">← previous</a> page 100 of 100</p>');
    const failed = await get(`${base}/?status=FAILED`);
    expect(rowIds(failed.body)).toEqual(
      [1, 1001, 2001, 3001, 4001, 5001, 6001, 7001, 8001, 9001].map(id),
    );
    expect(failed.body).toContain('<a href="?status=FAILED" class="current">FAILED (10)</a>');
  });

  it("lists the transitions newest first and says what discovery and reloading have not fed", async () => {
    const base = await serve(
      snapshot({
        transitions: [
          {
            at: NOW - 4_000,
            groupId: GROUP,
            clusterName: "Cluster1",
            restoreId: id(1),
            api: "tenant",
            from: "RUNNING",
            to: "FAILED",
          },
          {
            at: NOW - 600_000,
            groupId: GROUP,
            clusterName: "Cluster1",
            restoreId: id(1),
            api: "tenant",
            from: null,
            to: "RUNNING",
          },
        ],
      }),
    );
    const { body } = await get(`${base}/`);
    expect(body).toContain(
      `<li><span title="2026-12-02 11:59:56Z">4 s ago</span> <strong>Cluster1</strong> <code>${id(1)}</code> (tenant): <span class="status status-RUNNING">RUNNING</span> → <span class="status status-FAILED">FAILED</span></li>`,
    );
    expect(body).toContain(
      `10 min ago</span> <strong>Cluster1</strong> <code>${id(1)}</code> (tenant): <span class="none">first seen</span> →`,
    );
    expect(body.indexOf("4 s ago")).toBeLessThan(body.indexOf("10 min ago"));
    expect(body).toContain('<p class="none">nothing watched by discovery</p>');
    expect(body).toContain('<p class="none">not loaded yet</p>');
    expect(body).toContain('<p class="none">no job</p>');
  });

  it("shows what discovery watches and the last reload once they are given", async () => {
    const base = await serve(
      snapshot({
        watched: {
          organizations: [
            {
              orgId: "5f0000000000000000000001",
              projects: 1,
              lastSuccessAt: NOW - 30_000,
              errorKind: undefined,
            },
          ],
          projects: [
            {
              groupId: GROUP,
              source: "organization",
              orgId: "5f0000000000000000000001",
              clusters: 2,
              lastSuccessAt: undefined,
              errorKind: "http_403_USER_UNAUTHORIZED",
            },
          ],
          clusters: [
            watchedCluster({ clusterName: "Cluster0", lastResult: "ok", jobs: 3, pages: 1 }),
            watchedCluster({ clusterName: "Cluster1", lastResult: "gone" }),
          ],
          lastDiscoveryAt: NOW - 30_000,
          lastReload: undefined,
        },
        lastReload: {
          at: NOW - 60_000,
          successful: true,
          problems: [],
          restartRequired: ["listen"],
        },
      }),
    );
    const { body } = await get(`${base}/`);
    expect(body).toContain(
      `<ul><li>Organization <code>5f0000000000000000000001</code>: 1 projects, listed 30 s ago</li><li>Project <code>${GROUP}</code> (organization): 2 clusters, <span class="error">http_403_USER_UNAUTHORIZED</span></li></ul>`,
    );
    expect(body).toContain(
      `<tr><td>Cluster0</td><td><code>${GROUP}</code></td><td>flex</td><td>project</td><td>listed 30 s ago</td><td>3</td></tr>`,
    );
    expect(body).toContain(
      `<tr><td>Cluster1</td><td><code>${GROUP}</code></td><td>flex</td><td>project</td><td><span class="error">gone (404)</span></td><td>0</td></tr>`,
    );
    expect(body).toContain("Last discovery 30 s ago (2026-12-02 11:59:30Z).");
    expect(body).toContain(
      'Last load 60 s ago (2026-12-02 11:59:00Z): <span class="status status-COMPLETED">applied</span>',
    );
    expect(body).toContain("Changed, applied at the next restart: listen.");
  });

  it.each([
    [
      "/?status=failed",
      400,
      'status: "failed" is not one of PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, UNKNOWN, NOT_SEEN\n',
    ],
    ["/?page=0", 400, 'page: "0" is not a whole number from 1 to 1000000\n'],
    [
      "/?page=99999999999999999999",
      400,
      'page: "99999999999999999999" is not a whole number from 1 to 1000000\n',
    ],
    ["/?page=2", 404, "page: 2 is past the last page (1)\n"],
    ["/?limit=1001", 400, 'limit: "1001" is not a whole number from 1 to 1000\n'],
    ["/?limit=-1", 400, 'limit: "-1" is not a whole number from 1 to 1000\n'],
    ["/?stauts=FAILED", 400, '"stauts" is not a parameter (use status, page, limit)\n'],
    ["/?status=FAILED&status=RUNNING", 400, "status: given more than once\n"],
    ["/api/jobs?limit=5001", 400, 'limit: "5001" is not a whole number from 1 to 5000\n'],
    [
      "/api/jobs?status=%3Cscript%3E",
      400,
      'status: "<script>" is not one of PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, UNKNOWN, NOT_SEEN\n',
    ],
    [
      "/?status=%E0%A4%A",
      400,
      'status: "\ufffd%A" is not one of PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, UNKNOWN, NOT_SEEN\n',
    ],
    [
      `/api/jobs?status=${"F".repeat(100)}`,
      400,
      `status: "${"F".repeat(40)}…" is not one of PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, UNKNOWN, NOT_SEEN\n`,
    ],
  ])("answers %s with %i and says why in plain text", async (path, status, message) => {
    const base = await serve(snapshot({ jobs: [job(1, "FAILED")] }));
    const res = await get(`${base}${path}`);
    expect([res.status, res.headers["content-type"], res.body]).toEqual([
      status,
      "text/plain; charset=utf-8",
      message,
    ]);
    expect((await get(`${base}/healthz`)).status).toBe(200);
  });

  it("refuses other methods with 405, like the other endpoints", async () => {
    const base = await serve(snapshot());
    expect((await get(`${base}/`, "POST")).status).toBe(405);
    expect((await get(`${base}/api/jobs`, "POST")).status).toBe(405);
    expect(await get(`${base}/api/jobs`, "HEAD")).toMatchObject({ status: 200, body: "" });
  });
});

describe("GET /api/jobs", () => {
  it("returns the page's jobs as JSON, filtered and paged", async () => {
    const base = await serve(
      snapshot({
        jobs: [
          job(1, "COMPLETED"),
          job(2, "FAILED", { info: { scheduledAt: NOW - 60_000, finishedAt: NOW - 30_000 } }),
          job(3, "RUNNING", { api: "flex", errorKind: "http_503_SERVICE_UNAVAILABLE" }),
          job(4, null),
        ],
        errors: new Map([
          [
            `${GROUP}/Cluster3/${id(3)}`,
            {
              kind: "http_503_SERVICE_UNAVAILABLE",
              at: NOW - 1_000,
              status: 503,
              errorCode: "SERVICE_UNAVAILABLE",
              detail: "Try again.",
            },
          ],
        ]),
      }),
    );
    const all = await get(`${base}/api/jobs?limit=2`);
    expect(all.status).toBe(200);
    expect(all.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(JSON.parse(all.body)).toEqual({
      generatedAt: "2026-12-02T12:00:00.000Z",
      total: 4,
      page: 1,
      pageSize: 2,
      pages: 2,
      counts: {
        PENDING: 0,
        QUEUED: 0,
        RUNNING: 1,
        COMPLETED: 1,
        FAILED: 1,
        CANCELLED: 0,
        UNKNOWN: 0,
        NOT_SEEN: 1,
      },
      jobs: [
        {
          groupId: GROUP,
          clusterName: "Cluster2",
          restoreId: id(2),
          api: "tenant",
          status: "FAILED",
          scheduledAt: "2026-12-02T11:59:00.000Z",
          finishedAt: "2026-12-02T11:59:30.000Z",
          lastTransitionAt: "2026-12-02T11:59:58.000Z",
          lastSuccessAt: "2026-12-02T11:59:48.000Z",
          lastSuccessAgeSeconds: 12,
        },
        {
          groupId: GROUP,
          clusterName: "Cluster3",
          restoreId: id(3),
          api: "flex",
          status: "RUNNING",
          lastTransitionAt: "2026-12-02T11:59:57.000Z",
          lastSuccessAt: "2026-12-02T11:59:48.000Z",
          lastSuccessAgeSeconds: 12,
          error: {
            kind: "http_503_SERVICE_UNAVAILABLE",
            at: "2026-12-02T11:59:59.000Z",
            status: 503,
            errorCode: "SERVICE_UNAVAILABLE",
            detail: "Try again.",
          },
        },
      ],
    });
    const second = JSON.parse((await get(`${base}/api/jobs?limit=2&page=2`)).body) as {
      jobs: { restoreId: string; status: string | null }[];
    };
    expect(second.jobs.map((j) => [j.restoreId, j.status])).toEqual([
      [id(4), null],
      [id(1), "COMPLETED"],
    ]);
    const failed = JSON.parse((await get(`${base}/api/jobs?status=FAILED`)).body) as {
      status: string;
      total: number;
      jobs: { restoreId: string }[];
    };
    expect([failed.status, failed.total, failed.jobs.map((j) => j.restoreId)]).toEqual([
      "FAILED",
      1,
      [id(2)],
    ]);
  });
});

describe("RecentActivity", () => {
  const state = job(1, "RUNNING");
  const transition = (to: RestoreStatus) => ({
    type: "transition" as const,
    id: `t-${to}`,
    from: "RUNNING" as const,
    to,
    job: { id: id(1), status: to, rawStatus: to },
  });

  it("keeps the last 100 transitions, newest first", () => {
    let now = 0;
    const activity = new RecentActivity(() => now);
    for (let i = 0; i < 150; i++) {
      now = i;
      activity.record(state, transition(i % 2 ? "FAILED" : "COMPLETED"));
    }
    const kept = activity.transitions();
    expect(kept).toHaveLength(TRANSITIONS_KEPT);
    expect(kept.map((t) => t.at)).toEqual(Array.from({ length: 100 }, (_, i) => 149 - i));
    expect(kept[0]).toEqual({
      at: 149,
      groupId: GROUP,
      clusterName: "Cluster1",
      restoreId: id(1),
      api: "tenant",
      from: "RUNNING",
      to: "FAILED",
    });
  });

  it("keeps a failing job's last error until it recovers", () => {
    const activity = new RecentActivity(() => 42);
    const context = { operation: "get tenant restore job", target: "/x" };
    const http = new AtlasHttpError(
      { status: 404, errorCode: "CLUSTER_NOT_FOUND", detail: "gone" },
      context,
    );
    activity.record(state, {
      type: "poll_error",
      kind: http.kind,
      previousKind: undefined,
      error: http,
    });
    const key = `${GROUP}/Cluster1/${id(1)}`;
    expect(activity.errors().get(key)).toEqual({
      kind: "http_404_CLUSTER_NOT_FOUND",
      at: 42,
      status: 404,
      errorCode: "CLUSTER_NOT_FOUND",
      detail: "gone",
    });
    const timeout = new AtlasTimeoutError("headers", 2000, context);
    activity.record(state, {
      type: "poll_error",
      kind: timeout.kind,
      previousKind: http.kind,
      error: timeout,
    });
    expect(activity.errors().get(key)).toEqual({
      kind: "timeout_headers",
      at: 42,
      detail: "get tenant restore job /x: headers timeout after 2000 ms",
    });
    activity.record(state, { type: "poll_recovered", previousKind: timeout.kind });
    expect(activity.errors().size).toBe(0);
  });
});
