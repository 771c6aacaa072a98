/**
 * Service-account tokens against the simulator's token authority, which counts live tokens as
 * Atlas does (at 100 it refuses every token request of the account): a job Atlas always refuses
 * must not make the daemon buy and drop tokens, and a replaced token is revoked.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.js";
import { GROUP, SERVICE_ACCOUNT_CREDENTIALS, id, startSim, waitFor } from "../support/fixtures.js";
import { sample, startInProcess, type InProcessDaemon } from "../support/in-process.js";

const REFUSED = id(0xe1);
const FINE = id(0xe2);
const JOBS = [
  { groupId: GROUP, clusterName: "Cluster0", restoreId: REFUSED },
  { groupId: GROUP, clusterName: "Cluster0", restoreId: FINE },
];

let sim: Simulator | undefined;
let daemon: InProcessDaemon | undefined;

afterEach(async () => {
  await daemon?.stop();
  daemon = undefined;
  await sim?.close();
  sim = undefined;
});

async function world() {
  sim = await startSim({
    clusters: [{ groupId: GROUP, name: "Cluster0", kind: "tenant" }],
    jobs: JOBS.map((job) => ({
      groupId: GROUP,
      clusterName: job.clusterName,
      id: job.restoreId,
      script: [
        { afterSeconds: 0, status: "PENDING" },
        { afterSeconds: 300, status: "RUNNING" },
      ],
    })),
  });
  const s = sim;
  daemon = await startInProcess(s, {
    jobs: JOBS,
    credentials: SERVICE_ACCOUNT_CREDENTIALS,
    now: () => s.now(),
  });
  return { sim: s, daemon };
}

const series = (restoreId: string) =>
  `atlas_restore_job_poll_success{group_id="${GROUP}",cluster_name="Cluster0",restore_id="${restoreId}",api="tenant"}`;

describe("service-account tokens", () => {
  it("answers a job Atlas always refuses with http_401, at most one token a minute, never more than two live", async () => {
    const { sim: s, daemon: d } = await world();
    s.addFault({ kind: "unauthorized", match: { restoreId: REFUSED } });
    let mostLive = s.stats().liveTokens;
    // Ten minutes of a 30-second schedule.
    for (let i = 0; i < 20; i++) {
      s.advance(30);
      await d.cycle();
      mostLive = Math.max(mostLive, s.stats().liveTokens);
    }
    expect(mostLive).toBeLessThanOrEqual(2);
    const stats = s.stats();
    // One at start, then one a minute at most.
    expect(stats.issuedTokens.length).toBeLessThanOrEqual(11);
    // Every token it dropped is revoked (the replaced ones in the background).
    await waitFor(
      () => (s.stats().liveTokens === 1 ? true : undefined),
      "the replaced tokens to be revoked",
    );
    expect(s.stats().revokedTokens).toHaveLength(s.stats().issuedTokens.length - 1);
    const errors = d.lines.filter((l) => l.event === "restore_poll_error");
    expect(errors.map((l) => [l.restoreId, l.errorKind])).toEqual([
      [REFUSED, "http_401_UNEXPECTED_ERROR"],
    ]);
    const exposition = await d.metrics();
    expect(sample(exposition, series(REFUSED))).toBe(0);
    expect(sample(exposition, series(FINE))).toBe(1);
    // The other job went on: it was seen RUNNING when Atlas moved it.
    expect(
      d.lines
        .filter((l) => l.event === "restore_transition" && l.restoreId === FINE)
        .map((l) => l.to),
    ).toEqual(["PENDING", "RUNNING"]);
  });

  it("replaces a token Atlas revoked once it is past its first minute, and revokes the old one", async () => {
    const { sim: s, daemon: d } = await world();
    const first = s.stats().issuedTokens;
    expect(first).toHaveLength(1);
    s.advance(120);
    s.revokeAllTokens();
    await d.cycle();
    expect(s.stats().issuedTokens).toHaveLength(2);
    expect(d.lines.filter((l) => l.event === "restore_poll_error")).toEqual([]);
    await d.stop();
    daemon = undefined;
    expect(s.stats().revokedTokens.sort()).toEqual(s.stats().issuedTokens.sort());
    expect(s.stats().liveTokens).toBe(0);
  });
});
