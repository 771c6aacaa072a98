/**
 * The fault suite: one row per way Atlas can misbehave. Each row asserts what the operator sees
 * (request codes, log lines) and that the job is tracked correctly once the fault clears, while
 * the other job goes on untouched.
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Agent } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { Credentials } from "../../src/config/settings.js";
import type { Fault, Simulator } from "../../src/simulator/index.js";
import type { LogLine } from "../support/daemon-process.js";
import {
  API_KEY_CREDENTIALS,
  GROUP,
  SERVICE_ACCOUNT_CREDENTIALS,
  id,
  startSim,
  waitFor,
  unresolvableAgent,
} from "../support/fixtures.js";
import {
  followingClock,
  codeDelta,
  requestCodes,
  sample,
  startInProcess,
  type InProcessDaemon,
} from "../support/in-process.js";

const A = id(0xa1); // tenant: the faulted job
const B = id(0xb1); // flex: must go on regardless
const SCRIPT = [
  { afterSeconds: 0, status: "PENDING" },
  { afterSeconds: 10, status: "RUNNING" },
  { afterSeconds: 20, status: "COMPLETED" },
];
const JOBS = [
  { groupId: GROUP, clusterName: "Cluster0", restoreId: A },
  { groupId: GROUP, clusterName: "Flex0", restoreId: B, api: "flex" as const },
];

let sim: Simulator | undefined;
let daemon: InProcessDaemon | undefined;
const agents: Agent[] = [];

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await sim?.close();
  sim = undefined;
  await Promise.all(agents.splice(0).map((agent) => agent.close()));
});

/**
 * Per-request timeouts of the daemon under test: wide enough that a normal answer on two busy
 * cores never times out; the timeout rows use answers that never come.
 */
const TIMEOUTS = { connectMs: 2_000, headersMs: 2_000, bodyMs: 2_000 };

async function world(
  credentials: Credentials = API_KEY_CREDENTIALS,
  options: { timeouts?: typeof TIMEOUTS; simulatorTime?: boolean } = {},
) {
  sim = await startSim({
    clusters: [
      { groupId: GROUP, name: "Cluster0", kind: "tenant" },
      { groupId: GROUP, name: "Flex0", kind: "flex" },
    ],
    jobs: [
      { groupId: GROUP, clusterName: "Cluster0", id: A, script: SCRIPT },
      { groupId: GROUP, clusterName: "Flex0", id: B, script: SCRIPT },
    ],
  });
  daemon = await startInProcess(sim, {
    jobs: JOBS,
    credentials,
    timeouts: options.timeouts ?? TIMEOUTS,
    ...(options.simulatorTime ? { now: followingClock(sim) } : {}),
  });
  return { sim, daemon };
}

const transitionsOf = (lines: readonly LogLine[], restoreId: string) =>
  lines
    .filter((l) => l.event === "restore_transition" && l.restoreId === restoreId)
    .map((l) => `${l.from}→${l.to}`);

const eventsOf = (lines: readonly LogLine[], event: string, restoreId: string) =>
  lines.filter((l) => l.event === event && l.restoreId === restoreId);

interface Row {
  readonly name: string;
  readonly fault?: Fault;
  readonly inject?: (sim: Simulator) => void;
  /** Tenant request codes during the faulty cycle. */
  readonly codes: Record<string, number>;
  /** Checks what the simulator answered during the faulty cycle, when it differs from `codes`. */
  readonly answered?: (byStatus: Record<string, number>) => void;
  /** The error kind logged, or undefined when the cycle got through in the end. */
  readonly errorKind?: string | RegExp;
}

const rows: Row[] = [
  {
    name: "a 429 burst with Retry-After",
    fault: { kind: "rate_limit", retryAfterSeconds: 1, times: 2 },
    codes: { "429": 2, "200": 1 },
  },
  {
    name: "a 429 burst without any header",
    fault: { kind: "rate_limit", rateLimitHeaders: false, times: 2 },
    codes: { "429": 2, "200": 1 },
  },
  {
    name: "429 that lasts",
    fault: { kind: "rate_limit", retryAfterSeconds: 1 },
    codes: { "429": 3 },
    errorKind: "http_429_RATE_LIMITED",
  },
  {
    name: "500 that lasts",
    fault: { kind: "server_error" },
    codes: { "500": 3 },
    errorKind: "http_500_UNEXPECTED_ERROR",
  },
  {
    name: "a 500 once",
    fault: { kind: "server_error", times: 1 },
    codes: { "500": 1, "200": 1 },
  },
  {
    name: "503 with Retry-After",
    fault: { kind: "unavailable", retryAfterSeconds: 1, times: 1 },
    codes: { "503": 1, "200": 1 },
  },
  {
    name: "headers that never come",
    fault: { kind: "slow_headers" },
    codes: { timeout: 3 },
    errorKind: "timeout_headers",
  },
  {
    name: "a body that stalls half way",
    fault: { kind: "slow_body" },
    codes: { timeout: 3 },
    errorKind: "timeout_body",
  },
  {
    name: "a connection reset",
    fault: { kind: "reset" },
    codes: { network: 3 },
    errorKind: /^network/,
  },
  {
    name: "a Content-Length that lies",
    fault: { kind: "lying_length" },
    codes: { network: 3 },
    errorKind: /^network/,
  },
  {
    name: "malformed JSON",
    fault: { kind: "malformed_json" },
    codes: { decode: 1 },
    errorKind: "decode",
  },
  {
    name: "the wrong content type",
    fault: { kind: "wrong_content_type" },
    codes: { decode: 1 },
    errorKind: "decode",
  },
  {
    name: "a body for a different job id",
    fault: { kind: "wrong_id" },
    codes: { decode: 1 },
    errorKind: "decode",
  },
  {
    name: "a body that is not a job",
    fault: { kind: "invalid_body" },
    codes: { decode: 1 },
    errorKind: "decode",
  },
  {
    name: "a huge body",
    fault: { kind: "huge_body", sizeBytes: 9 * 1024 * 1024 },
    codes: { decode: 1 },
    errorKind: "decode",
  },
  {
    name: "404 CLUSTER_NOT_FOUND",
    fault: { kind: "not_found" },
    codes: { "404": 1 },
    errorKind: "http_404_CLUSTER_NOT_FOUND",
  },
  {
    // The digest interceptor answers the new challenge below the client: the metrics count one
    // request, Atlas sees two.
    name: "the digest nonce going stale",
    inject: (s) => s.expireNonces(),
    codes: { "200": 1 },
    // Both jobs' requests may have gone out with the old nonce at once.
    answered: (byStatus) => {
      expect(byStatus["200"]).toBe(2);
      expect([1, 2]).toContain(byStatus["401"]);
    },
  },
];

describe("the fault table", () => {
  it.each(rows)("$name", async (row) => {
    const { sim: s, daemon: d } = await world();
    expect(transitionsOf(d.lines, A)).toEqual(["null→PENDING"]);
    s.resetStats();
    const before = requestCodes(await d.metrics(), "tenant");
    if (row.fault) s.addFault({ ...row.fault, match: { restoreId: A } });
    row.inject?.(s);
    s.advance(10);
    const mark = d.lines.length;
    await d.cycle();
    const during = d.lines.slice(mark);

    expect(codeDelta(before, requestCodes(await d.metrics(), "tenant"))).toEqual(row.codes);
    row.answered?.(s.stats().byStatus);
    // The other job is not held back by this one's trouble.
    expect(transitionsOf(during, B)).toEqual(["PENDING→RUNNING"]);
    const errors = eventsOf(during, "restore_poll_error", A);
    if (row.errorKind === undefined) {
      expect(errors).toEqual([]);
      expect(transitionsOf(during, A)).toEqual(["PENDING→RUNNING"]);
    } else {
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ level: 40, api: "tenant", errorKind: row.errorKind });
      expect(transitionsOf(during, A)).toEqual([]);
      // Not logged again while the fault lasts.
      if (row.fault?.kind !== "rate_limit") {
        const again = d.lines.length;
        await d.cycle();
        expect(eventsOf(d.lines.slice(again), "restore_poll_error", A)).toEqual([]);
      }
    }

    // The fault clears: the job is tracked as if nothing happened.
    s.clearFaults();
    await waitFor(async () => {
      await d.cycle();
      return transitionsOf(d.lines, A).length === 2 ? true : undefined;
    }, "the job to be seen RUNNING");
    expect(transitionsOf(d.lines, A)).toEqual(["null→PENDING", "PENDING→RUNNING"]);
    expect(eventsOf(d.lines, "restore_poll_recovered", A)).toHaveLength(row.errorKind ? 1 : 0);
    s.advance(10);
    await d.cycle();
    expect(transitionsOf(d.lines, A)).toEqual([
      "null→PENDING",
      "PENDING→RUNNING",
      "RUNNING→COMPLETED",
    ]);
    expect(transitionsOf(d.lines, B)).toEqual([
      "null→PENDING",
      "PENDING→RUNNING",
      "RUNNING→COMPLETED",
    ]);
  });
});

describe("beyond the table", () => {
  it("reports a base URL whose host does not resolve, and keeps running", async () => {
    sim = await startSim({});
    const agent = unresolvableAgent();
    agents.push(agent);
    daemon = await startInProcess(sim, {
      jobs: JOBS,
      credentials: API_KEY_CREDENTIALS,
      agent,
      baseUrl: "http://atlas.invalid",
    });
    const errors = daemon.lines.filter((l) => l.event === "restore_poll_error");
    expect(errors.map((l) => [l.restoreId, l.errorKind]).sort()).toEqual([
      [A, "network_ENOTFOUND"],
      [B, "network_ENOTFOUND"],
    ]);
    const exposition = await daemon.metrics();
    expect(sample(exposition, "atlas_restore_api_up")).toBe(0);
    expect(requestCodes(exposition, "tenant")).toEqual({ network: 3 });
    expect(daemon.daemon.ready).toBe(true);
  });

  it("warns once when the state cannot be written, keeps polling, and saves again later", async () => {
    const { sim: s, daemon: d } = await world();
    // A directory where the temporary file goes makes every write fail, even for root.
    const blocker = join(dirname(d.stateFile), `.state.json.${process.pid}.tmp`);
    await mkdir(blocker);
    s.advance(10);
    await d.cycle();
    await d.cycle();
    expect(d.lines.filter((l) => l.event === "state_save_failed")).toMatchObject([
      { level: 40, error: "EISDIR" },
    ]);
    expect(transitionsOf(d.lines, A)).toEqual(["null→PENDING", "PENDING→RUNNING"]);
    await rm(blocker, { recursive: true });
    await d.cycle();
    expect(d.lines.filter((l) => l.event === "state_save_recovered")).toHaveLength(1);
    const saved = JSON.parse(await readFile(d.stateFile, "utf8"));
    expect(saved.jobs.map((j: { status: string }) => j.status)).toEqual(["RUNNING", "RUNNING"]);
  });

  it("keeps /metrics responsive during a slow cycle", async () => {
    // The cycle lasts one headers timeout (5 s): an answer that never comes, then a retry.
    const timeouts = { connectMs: 5_000, headersMs: 5_000, bodyMs: 5_000 };
    const { sim: s, daemon: d } = await world(API_KEY_CREDENTIALS, { timeouts });
    s.addFault({ kind: "slow_headers", times: 1, match: { restoreId: A } });
    const cycles = () =>
      d.metrics().then((text) => sample(text, "atlas_restore_poll_cycle_duration_seconds_count"));
    const before = await cycles();
    let finished = false;
    const running = d.cycle().then(() => (finished = true));
    // While the cycle waits on Atlas, the server answers and the cycle is not counted yet.
    expect(await cycles()).toBe(before);
    expect(finished).toBe(false);
    await running;
    expect(await cycles()).toBe(before + 1);
  });

  it("sends at most 10 token requests a minute while the token endpoint fails", async () => {
    const { sim: s, daemon: d } = await world(SERVICE_ACCOUNT_CREDENTIALS, { simulatorTime: true });
    // Past its first minute, a refused token is replaced.
    s.advance(60);
    s.revokeAllTokens();
    s.addFault({ kind: "server_error", match: { api: "token" } });
    const before = s.stats().tokenRequests;
    for (let i = 0; i < 8; i++) await d.cycle();
    // The first token left the window with the minute that passed: ten more at most.
    expect(s.stats().tokenRequests - before).toBe(10);
    const kinds = d.lines.filter((l) => l.event === "restore_poll_error").map((l) => l.errorKind);
    expect(kinds).toContain("auth");
    s.clearFaults();
  });

  it("waits out a 429 from the token endpoint", async () => {
    const { sim: s, daemon: d } = await world(SERVICE_ACCOUNT_CREDENTIALS, { simulatorTime: true });
    // Past its first minute, a refused token is replaced.
    s.advance(60);
    s.revokeAllTokens();
    s.addFault({ kind: "rate_limit", retryAfterSeconds: 1, times: 1, match: { api: "token" } });
    await d.cycle();
    expect(requestCodes(await d.metrics(), "oauth")).toMatchObject({ "429": 1 });
    expect(transitionsOf(d.lines, A)).toEqual(["null→PENDING", "PENDING→COMPLETED"]);
    expect(transitionsOf(d.lines, B)).toEqual(["null→PENDING", "PENDING→COMPLETED"]);
  });

  it("revokes its service-account token on shutdown", async () => {
    const { sim: s, daemon: d } = await world(SERVICE_ACCOUNT_CREDENTIALS);
    const issued = s.stats().issuedTokens;
    expect(issued).toHaveLength(1);
    await d.stop();
    daemon = undefined;
    expect(s.stats().revokeRequests).toBe(1);
    expect(s.stats().revokedTokens).toEqual(issued);
  });

  it("follows a status that goes backwards and says so", async () => {
    sim = await startSim({
      jobs: [
        {
          groupId: GROUP,
          clusterName: "Cluster0",
          id: A,
          script: [
            { afterSeconds: 0, status: "RUNNING" },
            { afterSeconds: 10, status: "QUEUED" },
          ],
        },
      ],
    });
    daemon = await startInProcess(sim, { jobs: [JOBS[0]!], credentials: API_KEY_CREDENTIALS });
    sim.advance(10);
    await daemon.cycle();
    expect(eventsOf(daemon.lines, "restore_status_regressed", A)).toMatchObject([
      { level: 40, from: "RUNNING", to: "QUEUED" },
    ]);
    expect(transitionsOf(daemon.lines, A)).toEqual(["null→RUNNING", "RUNNING→QUEUED"]);
    expect(
      sample(
        await daemon.metrics(),
        `atlas_restore_job_status{group_id="${GROUP}",cluster_name="Cluster0",restore_id="${A}",api="tenant",status="QUEUED"}`,
      ),
    ).toBe(1);
  });
});
