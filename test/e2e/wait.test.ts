/**
 * `node dist/main.js wait` end to end against the simulator: every row of the exit-code table,
 * several ids with mixed outcomes, a 503 with Retry-After, SIGINT. Each test asserts the exit
 * code, the JSON lines on stdout and what the simulator was asked: only GETs on restore jobs,
 * plus one token request and its revocation for a service account.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { ScenarioInput, Simulator } from "../../src/simulator/index.js";
import { spawnDaemon, type DaemonProcess } from "../support/daemon-process.js";
import { API_KEY, GROUP, id, SERVICE_ACCOUNT, startSim, waitFor } from "../support/fixtures.js";

const A = id(0xa1); // Flex0: PENDING, RUNNING at 10 s, COMPLETED at 30 s
const B = id(0xb2); // Flex0: RUNNING, FAILED at 20 s
const C = id(0xc3); // Flex0: RUNNING, never finishes
const D = id(0xd4); // Cluster0 (tenant): COMPLETED from the start
const MISSING = id(0xee); // no such job

const SCENARIO: ScenarioInput = {
  clusters: [
    { groupId: GROUP, name: "Flex0", kind: "flex" },
    { groupId: GROUP, name: "Cluster0", kind: "tenant" },
  ],
  jobs: [
    {
      groupId: GROUP,
      clusterName: "Flex0",
      id: A,
      script: [
        { afterSeconds: 0, status: "PENDING" },
        { afterSeconds: 10, status: "RUNNING" },
        { afterSeconds: 30, status: "COMPLETED" },
      ],
    },
    {
      groupId: GROUP,
      clusterName: "Flex0",
      id: B,
      script: [
        { afterSeconds: 0, status: "RUNNING" },
        { afterSeconds: 20, status: "FAILED" },
      ],
    },
    {
      groupId: GROUP,
      clusterName: "Flex0",
      id: C,
      script: [{ afterSeconds: 0, status: "RUNNING" }],
    },
    {
      groupId: GROUP,
      clusterName: "Cluster0",
      id: D,
      script: [{ afterSeconds: 0, status: "COMPLETED" }],
    },
  ],
};

const API_KEY_ENV = {
  MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
  MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey,
};
const SERVICE_ACCOUNT_ENV = {
  MONGODB_ATLAS_CLIENT_ID: SERVICE_ACCOUNT.clientId,
  MONGODB_ATLAS_CLIENT_SECRET: SERVICE_ACCOUNT.clientSecret,
};

let sim: Simulator;
let running: DaemonProcess | undefined;

afterEach(async () => {
  if (running && running.child.exitCode === null) running.child.kill("SIGKILL");
  running = undefined;
  await sim?.close();
});

/** Starts `wait` against `baseUrl` (the simulator's by default) with `env` and the flags. */
function wait(
  args: readonly string[],
  env: Record<string, string> = API_KEY_ENV,
  options: { baseUrl?: string; cwd?: string } = {},
): DaemonProcess {
  running = spawnDaemon(
    ["wait", ...args],
    { MONGODB_ATLAS_BASE_URL: options.baseUrl ?? sim.url, ...env },
    options.cwd,
  );
  return running;
}

/** `--group-id GROUP --cluster-name NAME --interval 1s`, the flags most tests share. */
function flags(cluster = "Flex0"): string[] {
  return ["--group-id", GROUP, "--cluster-name", cluster, "--interval", "1s"];
}

/** Waits for the exit; returns its code, the stdout objects and stderr's lines. */
async function finished(child: DaemonProcess, within = 30_000) {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    child.exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no exit within ${within} ms; stderr: ${child.stderr()}`)),
        within,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  expect(child.garbage).toEqual([]);
  return {
    code,
    results: child.lines as Record<string, unknown>[],
    stderr: child
      .stderr()
      .split("\n")
      .filter((line) => line !== ""),
  };
}

/** Waits until stderr has a line equal to (or matching) `expected`. */
function stderrLine(child: DaemonProcess, expected: string | RegExp): Promise<string> {
  return waitFor(
    () =>
      child
        .stderr()
        .split("\n")
        .find((line) => (typeof expected === "string" ? line === expected : expected.test(line))),
    `stderr line ${String(expected)}; stderr so far: ${child.stderr()}`,
    20_000,
  );
}

/** Only GETs reached the restore paths (the simulator answers anything else 405), on `routes`. */
function expectOnlyGets(routes: readonly string[]): void {
  const stats = sim.stats();
  expect(Object.keys(stats.byRoute).sort()).toEqual([...routes].sort());
  expect(stats.byStatus["405"]).toBeUndefined();
}

/** No credential or issued token in what the command printed. */
function expectNoSecret(child: DaemonProcess): void {
  const printed = `${child.stderr()}\n${JSON.stringify(child.lines)}`;
  for (const secret of [
    API_KEY.privateKey,
    SERVICE_ACCOUNT.clientSecret,
    ...sim.stats().issuedTokens,
  ]) {
    expect(printed).not.toContain(secret);
  }
}

/** A base URL on 127.0.0.1 where nothing listens: a port that was just free. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe("wait: exit 0", () => {
  it("every job COMPLETED: one stderr line per status change, the first one included", async () => {
    sim = await startSim(SCENARIO);
    // The project from the Atlas CLI's variable instead of --group-id.
    const child = wait(["--cluster-name", "Flex0", "--interval", "1s", A], {
      ...API_KEY_ENV,
      MONGODB_ATLAS_PROJECT_ID: GROUP,
    });
    await stderrLine(child, "Flex0 6a79…0a1: PENDING");
    sim.advance(10);
    await stderrLine(child, /^Flex0 6a79…0a1: PENDING → RUNNING after \d+s$/);
    sim.advance(20);
    const { code, results, stderr } = await finished(child);
    expect(code).toBe(0);
    expect(results).toEqual([
      {
        groupId: GROUP,
        clusterName: "Flex0",
        restoreId: A,
        api: "flex",
        status: "COMPLETED",
        outcome: "completed",
        restoreScheduledDate: "2025-06-01T12:00:00Z",
        restoreFinishedDate: "2025-06-01T12:00:30Z",
        snapshotFinishedDate: expect.any(String),
        waitedSeconds: expect.any(Number),
      },
    ]);
    expect(stderr).toHaveLength(3);
    expect(stderr[2]).toMatch(/^Flex0 6a79…0a1: RUNNING → COMPLETED after \d+s$/);
    expectOnlyGets(["flex.get"]);
    expect(sim.stats().tokenRequests).toBe(0);
  });

  it("reads a tenant job with --api tenant, credentials from a .env file", async () => {
    sim = await startSim(SCENARIO);
    const dir = await mkdtemp(join(tmpdir(), "restore-watch-wait-"));
    await writeFile(
      join(dir, ".env"),
      `MONGODB_ATLAS_PUBLIC_API_KEY=${API_KEY.publicKey}\nMONGODB_ATLAS_PRIVATE_API_KEY=${API_KEY.privateKey}\n`,
    );
    const child = wait([...flags("Cluster0"), "--api", "tenant", D], {}, { cwd: dir });
    const { code, results, stderr } = await finished(child);
    expect(code).toBe(0);
    expect(results).toMatchObject([
      { restoreId: D, api: "tenant", status: "COMPLETED", outcome: "completed" },
    ]);
    expect(stderr).toEqual(["Cluster0 6a79…0d4: COMPLETED"]);
    expectOnlyGets(["tenant.get"]);
  });

  it("waits out a 503's Retry-After, longer than the interval, then succeeds", async () => {
    sim = await startSim(SCENARIO);
    sim.addFault({ kind: "unavailable", retryAfterSeconds: 3, times: 1, match: { restoreId: D } });
    const started = Date.now();
    const child = wait([...flags("Cluster0"), "--api", "tenant", D]);
    const { code, results } = await finished(child);
    expect(code).toBe(0);
    expect(results).toMatchObject([{ restoreId: D, status: "COMPLETED", outcome: "completed" }]);
    // The second GET went no sooner than Atlas asked, though --interval is 1 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
    expect(sim.stats().byStatus["503"]).toBe(1);
    expect(sim.stats().byStatus["200"]).toBe(1);
    expectOnlyGets(["tenant.get"]);
  });
});

describe("wait: exit 1 and mixed outcomes", () => {
  it("1 when one job FAILED, after the others were still waited for", async () => {
    sim = await startSim(SCENARIO);
    const dir = await mkdtemp(join(tmpdir(), "restore-watch-wait-"));
    await writeFile(join(dir, "private-key"), `${API_KEY.privateKey}\n`);
    const child = wait([...flags(), B, A], {
      MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey,
      MONGODB_ATLAS_PRIVATE_API_KEY_FILE: join(dir, "private-key"),
    });
    await stderrLine(child, "Flex0 6a79…0a1: PENDING");
    sim.advance(20); // B fails, A runs on
    await stderrLine(child, /^Flex0 6a79…0b2: RUNNING → FAILED after \d+s$/);
    await stderrLine(child, /^Flex0 6a79…0a1: PENDING → RUNNING after \d+s$/);
    expect(child.child.exitCode).toBeNull();
    sim.advance(10);
    const { code, results } = await finished(child);
    expect(code).toBe(1);
    expect(results.map((r) => [r.restoreId, r.status, r.outcome])).toEqual([
      [B, "FAILED", "failed"],
      [A, "COMPLETED", "completed"],
    ]);
    expect(results[0]).toMatchObject({ restoreFinishedDate: "2025-06-01T12:00:20Z" });
    expectOnlyGets(["flex.get"]);
  });

  it("the highest code of several ids: completed, failed and not found make 3", async () => {
    sim = await startSim(SCENARIO);
    sim.advance(30);
    const child = wait([...flags(), "--timeout", "2m", A, MISSING, B]);
    const { code, results, stderr } = await finished(child);
    expect(code).toBe(3);
    expect(results).toEqual([
      expect.objectContaining({ restoreId: A, status: "COMPLETED", outcome: "completed" }),
      {
        groupId: GROUP,
        clusterName: "Flex0",
        restoreId: MISSING,
        api: "flex",
        status: null,
        outcome: "error",
        waitedSeconds: expect.any(Number),
        httpStatus: 404,
        errorCode: "RESOURCE_NOT_FOUND",
        errorKind: "http_404_RESOURCE_NOT_FOUND",
      },
      expect.objectContaining({ restoreId: B, status: "FAILED", outcome: "failed" }),
    ]);
    expect(stderr).toContain(
      "Flex0 6a79…0ee: giving up after 3 refusals in a row: HTTP 404 RESOURCE_NOT_FOUND: " +
        `No restore job with ID ${MISSING} exists for cluster Flex0.`,
    );
    // Three tries for the missing job, one each for the others; never the 2 minutes.
    expect(sim.stats().byStatus["404"]).toBe(3);
    expect(results[1]?.waitedSeconds).toBeLessThan(60);
    expectOnlyGets(["flex.get"]);
  });
});

describe("wait: exit 2", () => {
  it("the timeout passes first: the last status, the restore left running", async () => {
    sim = await startSim(SCENARIO);
    const child = wait([...flags(), "--timeout", "3s", C], SERVICE_ACCOUNT_ENV);
    const { code, results, stderr } = await finished(child);
    expect(code).toBe(2);
    expect(results).toMatchObject([{ restoreId: C, status: "RUNNING", outcome: "timeout" }]);
    expect(results[0]?.waitedSeconds).toBeGreaterThanOrEqual(3);
    expect(stderr).toEqual([
      "Flex0 6a79…0c3: RUNNING",
      "Flex0 6a79…0c3: timeout of 3s passed; still RUNNING, left running",
    ]);
    // Only reads: nothing was cancelled. One token, revoked at exit.
    expectOnlyGets(["token", "flex.get", "revoke"]);
    expect(sim.stats().issuedTokens).toHaveLength(1);
    expect(sim.stats().revokedTokens).toEqual(sim.stats().issuedTokens);
    expectNoSecret(child);
  });
});

describe("wait: exit 3", () => {
  it.each([
    [
      "a refused API key (401)",
      { ...API_KEY_ENV, MONGODB_ATLAS_PRIVATE_API_KEY: "wrong" },
      undefined,
      401,
      "UNEXPECTED_ERROR",
    ],
    [
      "an address off the access list (403)",
      API_KEY_ENV,
      "forbidden",
      403,
      "IP_ADDRESS_NOT_ON_ACCESS_LIST",
    ],
  ] as const)("%s ends the wait promptly", async (_name, env, fault, status, errorCode) => {
    sim = await startSim(SCENARIO);
    if (fault) sim.addFault({ kind: fault });
    const child = wait([...flags(), "--timeout", "5m", C], env);
    const { code, results, stderr } = await finished(child);
    expect(code).toBe(3);
    expect(results).toMatchObject([
      { restoreId: C, status: null, outcome: "error", httpStatus: status, errorCode },
    ]);
    expect(results[0]?.waitedSeconds).toBeLessThan(60);
    expect(stderr.at(-1)).toMatch(
      new RegExp(
        `^Flex0 6a79…0c3: giving up after 3 refusals in a row: HTTP ${status} ${errorCode}`,
      ),
    );
    expectOnlyGets(["flex.get"]);
    expectNoSecret(child);
  });

  it("a refused service account: three token requests at most, no GET sent", async () => {
    sim = await startSim(SCENARIO);
    const child = wait([...flags(), C], {
      ...SERVICE_ACCOUNT_ENV,
      MONGODB_ATLAS_CLIENT_SECRET: "not-the-secret",
    });
    const { code, results } = await finished(child);
    expect(code).toBe(3);
    expect(results).toMatchObject([
      { restoreId: C, outcome: "error", httpStatus: 401, errorCode: "invalid_client" },
    ]);
    expect(sim.stats().tokenRequests).toBe(3);
    expect(sim.stats().issuedTokens).toEqual([]);
    expectOnlyGets(["token"]);
  });

  it("a service account refused on the project (401): one token, revoked", async () => {
    sim = await startSim(SCENARIO);
    sim.addFault({ kind: "unauthorized" });
    const child = wait([...flags(), C], SERVICE_ACCOUNT_ENV);
    const { code, results } = await finished(child);
    expect(code).toBe(3);
    expect(results).toMatchObject([{ restoreId: C, outcome: "error", httpStatus: 401 }]);
    const stats = sim.stats();
    expect(stats.byStatus["401"]).toBe(3);
    expect(stats.tokenRequests).toBe(1);
    expect(stats.revokedTokens).toEqual(stats.issuedTokens);
    expectOnlyGets(["token", "flex.get", "revoke"]);
    expectNoSecret(child);
  });

  it("a cluster that does not exist (404)", async () => {
    sim = await startSim(SCENARIO);
    const child = wait([...flags("Nope0"), A]);
    const { code, results } = await finished(child);
    expect(code).toBe(3);
    expect(results).toMatchObject([
      {
        clusterName: "Nope0",
        restoreId: A,
        outcome: "error",
        httpStatus: 404,
        errorCode: "CLUSTER_NOT_FOUND",
      },
    ]);
    expectOnlyGets(["flex.get"]);
  });

  it("Atlas unreachable until the timeout", async () => {
    sim = await startSim(SCENARIO);
    const child = wait([...flags(), "--timeout", "4s", A], API_KEY_ENV, {
      baseUrl: await closedPortUrl(),
    });
    const { code, results, stderr } = await finished(child);
    expect(code).toBe(3);
    expect(results).toEqual([
      {
        groupId: GROUP,
        clusterName: "Flex0",
        restoreId: A,
        api: "flex",
        status: null,
        outcome: "error",
        waitedSeconds: expect.any(Number),
        errorKind: "network_ECONNREFUSED",
      },
    ]);
    expect(results[0]?.waitedSeconds).toBeGreaterThanOrEqual(4);
    expect(stderr).toEqual([
      "Flex0 6a79…0a1: asking again after network error ECONNREFUSED",
      "Flex0 6a79…0a1: timeout of 4s passed with Atlas unreachable (network error ECONNREFUSED); no status seen",
    ]);
  });
});

describe("wait: exit 64 and 78, nothing sent", () => {
  it.each([
    [
      ["--cluster-name", "Flex0", "--interval", "500ms", A],
      'option --interval: "500ms" is shorter than the 1s minimum',
    ],
    [
      ["--cluster-name", "Flex0", "xyz"],
      'restore id "xyz" is not a 24-character lowercase hexadecimal id',
    ],
    [
      ["--cluster-name", "Flex0", "--api", "serverless", A],
      'option --api: "serverless" is not one of auto, tenant, flex, dedicated',
    ],
    [[A], "option --cluster-name is required"],
  ])("64 for %j", async (args, message) => {
    sim = await startSim(SCENARIO);
    const child = wait(["--group-id", GROUP, ...args]);
    const { code, results, stderr } = await finished(child);
    expect(code).toBe(64);
    expect(results).toEqual([]);
    expect(stderr[0]).toBe(`atlas-restore-watch wait: ${message}`);
    expect(stderr).toContain("Exit codes:");
    expect(sim.stats().requests).toBe(0);
  });

  it("64 without a project", async () => {
    sim = await startSim(SCENARIO);
    const child = wait(["--cluster-name", "Flex0", A]);
    const { code, stderr } = await finished(child);
    expect(code).toBe(64);
    expect(stderr[0]).toBe(
      "atlas-restore-watch wait: option --group-id is required unless MONGODB_ATLAS_PROJECT_ID is set",
    );
    expect(sim.stats().requests).toBe(0);
  });

  it.each([
    [
      "no credentials",
      {},
      "credentials: none set; set MONGODB_ATLAS_CLIENT_ID and MONGODB_ATLAS_CLIENT_SECRET (service account) " +
        "or MONGODB_ATLAS_PUBLIC_API_KEY and MONGODB_ATLAS_PRIVATE_API_KEY (API key), each also accepted as NAME_FILE",
    ],
    [
      "a base URL that is not http",
      { ...API_KEY_ENV, MONGODB_ATLAS_BASE_URL: "ftp://atlas.example" },
      'MONGODB_ATLAS_BASE_URL: "ftp://atlas.example" is not an http or https URL',
    ],
  ])("78 for %s", async (_name, env, problem) => {
    sim = await startSim(SCENARIO);
    running = spawnDaemon(["wait", ...flags(), A], { MONGODB_ATLAS_BASE_URL: sim.url, ...env });
    const { code, results, stderr } = await finished(running);
    expect(code).toBe(78);
    expect(results).toEqual([]);
    expect(stderr).toEqual([
      "atlas-restore-watch wait: invalid configuration (1 problem):",
      `  ${problem}`,
    ]);
    expect(sim.stats().requests).toBe(0);
  });

  it("--help shows the subcommand and its exit codes on stdout, exit 0", async () => {
    sim = await startSim(SCENARIO);
    const child = wait(["--help"]);
    const code = await child.exited;
    expect(code).toBe(0);
    expect(child.garbage.join("\n")).toContain("130  interrupted (SIGINT or SIGTERM)");
    expect(sim.stats().requests).toBe(0);
  });
});

describe("wait: exit 130", () => {
  it("SIGINT during a request that hangs: exits at once, the token revoked", async () => {
    sim = await startSim(SCENARIO);
    const child = wait([...flags(), C], SERVICE_ACCOUNT_ENV);
    await stderrLine(child, "Flex0 6a79…0c3: RUNNING");
    sim.addFault({ kind: "slow_headers" }); // never answers
    // Every GET received from now on hangs.
    const asked = sim.stats().byRoute["flex.get"] ?? 0;
    await waitFor(
      () => ((sim.stats().byRoute["flex.get"] ?? 0) > asked ? true : undefined),
      "a hanging GET",
    );
    const signalled = Date.now();
    child.child.kill("SIGINT");
    const { code, results, stderr } = await finished(child);
    expect(code).toBe(130);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(results).toMatchObject([{ restoreId: C, status: "RUNNING", outcome: "interrupted" }]);
    expect(stderr.at(-1)).toBe(
      "Flex0 6a79…0c3: interrupted by SIGINT; last status RUNNING, left running",
    );
    const stats = sim.stats();
    expect(stats.tokenRequests).toBe(1);
    expect(stats.issuedTokens).toHaveLength(1);
    expect(stats.revokedTokens).toEqual(stats.issuedTokens);
    expectOnlyGets(["token", "flex.get", "revoke"]);
    expectNoSecret(child);
  });

  it("SIGTERM between polls: 130 too, the token revoked", async () => {
    sim = await startSim(SCENARIO);
    const child = wait([...flags(), C], SERVICE_ACCOUNT_ENV);
    await stderrLine(child, "Flex0 6a79…0c3: RUNNING");
    child.child.kill("SIGTERM");
    const { code, results } = await finished(child);
    expect(code).toBe(130);
    expect(results).toMatchObject([{ restoreId: C, status: "RUNNING", outcome: "interrupted" }]);
    expect(sim.stats().revokedTokens).toEqual(sim.stats().issuedTokens);
    expect(sim.stats().issuedTokens).toHaveLength(1);
  });
});
