/**
 * No secret leaks: the built daemon runs against the simulator with a service account and with an
 * API key, each given as plain variables and as `_FILE` variables, through faults that make it log
 * errors (revoked tokens, stale nonces, a failing token endpoint, 500, 429, 401, malformed JSON, a
 * wrong content type) and with wrong credentials; then `--check-config` and invalid configurations.
 * Everything it wrote (stdout, stderr, state files, /metrics bodies, the status page and
 * /api/jobs, which show Atlas's error texts) must contain none of the
 * secrets, none of the tokens the simulator issued and none of the Authorization values sent.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Simulator } from "../../src/simulator/index.js";
import { writeConfig, type LogLine } from "../support/daemon-process.js";
import { API_KEY, GROUP, SERVICE_ACCOUNT, id, startSim, waitFor } from "../support/fixtures.js";
import { killAll, startDaemonRun, stopRun, type DaemonRun } from "./daemon-run.js";
import { findLeaks, type Haystack, type Needle } from "./leak-scan.js";
import { startRecordingProxy, type RecordingProxy } from "./recording-proxy.js";

/** Wrong credentials are configured secrets too: refused, they must not be echoed either. */
const WRONG_CLIENT_SECRET = "mdb_sa_sk_wrong-secret-never-logged-either";
const WRONG_PRIVATE_KEY = "0badc0de-wrong-private-key-never-logged";

const [A, B, C, D, E] = [id(0xa), id(0xb), id(0xc), id(0xd), id(0xe)] as const;
/** A, B, C on a tenant cluster; D, E on a Flex cluster. Each gets its own fault below. */
const JOBS = [
  { restoreId: A, clusterName: "Cluster0", api: "tenant" },
  { restoreId: B, clusterName: "Cluster0", api: "tenant" },
  { restoreId: C, clusterName: "Cluster0", api: "tenant" },
  { restoreId: D, clusterName: "Flex0", api: "flex" },
  { restoreId: E, clusterName: "Flex0", api: "flex" },
] as const;

const haystacks: Haystack[] = [];
const sims: Simulator[] = [];
const proxies: RecordingProxy[] = [];
const runs: DaemonRun[] = [];
let root: string;
let secretsDir: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "restore-watch-secrets-"));
  // The secret files live apart from the daemons' directories, which are scanned whole.
  secretsDir = join(root, "secrets");
  await mkdir(secretsDir);
  const files: Record<string, string> = {
    "client-id": SERVICE_ACCOUNT.clientId,
    "client-secret": SERVICE_ACCOUNT.clientSecret,
    "public-key": API_KEY.publicKey,
    "private-key": API_KEY.privateKey,
    "wrong-private-key": WRONG_PRIVATE_KEY,
  };
  for (const [name, value] of Object.entries(files)) {
    await writeFile(join(secretsDir, name), `${value}\n`, { mode: 0o600 });
  }
});

afterAll(async () => {
  await killAll(runs);
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await Promise.all(sims.map((sim) => sim.close()));
  if (root) await rm(root, { recursive: true, force: true });
});

type Kind = "serviceAccount" | "apiKey";
type Via = "values" | "files";

/** The credential variables for `kind`, given directly or as `NAME_FILE` paths. */
function credentialsEnv(kind: Kind, via: Via, wrong = false): Record<string, string> {
  if (kind === "serviceAccount") {
    const secret = wrong ? WRONG_CLIENT_SECRET : SERVICE_ACCOUNT.clientSecret;
    return via === "values"
      ? { MONGODB_ATLAS_CLIENT_ID: SERVICE_ACCOUNT.clientId, MONGODB_ATLAS_CLIENT_SECRET: secret }
      : {
          MONGODB_ATLAS_CLIENT_ID_FILE: join(secretsDir, "client-id"),
          MONGODB_ATLAS_CLIENT_SECRET_FILE: join(secretsDir, "client-secret"),
        };
  }
  const privateKey = wrong ? WRONG_PRIVATE_KEY : API_KEY.privateKey;
  return via === "values"
    ? { MONGODB_ATLAS_PUBLIC_API_KEY: API_KEY.publicKey, MONGODB_ATLAS_PRIVATE_API_KEY: privateKey }
    : {
        MONGODB_ATLAS_PUBLIC_API_KEY_FILE: join(secretsDir, "public-key"),
        MONGODB_ATLAS_PRIVATE_API_KEY_FILE: join(
          secretsDir,
          wrong ? "wrong-private-key" : "private-key",
        ),
      };
}

/** A fresh simulator (so the token limits start over) behind a recording proxy. */
async function atlas(): Promise<{ sim: Simulator; proxy: RecordingProxy }> {
  const sim = await startSim({
    // Tokens of 20 s are fresh (a 401 to them stands) for 5 s of the daemon's real time only,
    // so that the revocations below are answered within seconds.
    tokenTtlSeconds: 20,
    clusters: [
      { groupId: GROUP, name: "Cluster0", kind: "tenant" },
      { groupId: GROUP, name: "Flex0", kind: "flex" },
    ],
    jobs: JOBS.map((job) => ({
      groupId: GROUP,
      clusterName: job.clusterName,
      id: job.restoreId,
      script: [
        { afterSeconds: 0, status: "PENDING" },
        { afterSeconds: 60, status: "RUNNING" },
      ],
    })),
  });
  sims.push(sim);
  const proxy = await startRecordingProxy(sim.url);
  proxies.push(proxy);
  return { sim, proxy };
}

/** A directory and config file for one daemon run, pointed at `baseUrl`. */
async function runDir(label: string, baseUrl: string) {
  const dir = join(root, label);
  await mkdir(dir);
  const { file } = await writeConfig(
    {
      schedule: "* * * * * *",
      api: "tenant",
      listen: "127.0.0.1:0",
      baseUrl,
      // Debug lines too: the more the daemon says, the more places a secret could slip into.
      logLevel: "debug",
      stateFile: join(dir, "state.json"),
      jobs: JOBS.map((job) => ({
        groupId: GROUP,
        clusterName: job.clusterName,
        restoreId: job.restoreId,
        ...(job.api === "flex" ? { api: "flex" } : {}),
      })),
    },
    dir,
  );
  return { dir, file };
}

function start(args: string[], env: Record<string, string>, cwd: string) {
  const run = startDaemonRun(args, env, { cwd });
  runs.push(run);
  return run;
}

/** Keeps what a finished run wrote: stdout, stderr, and every file left in its directory. */
async function collect(label: string, run: DaemonRun, dir?: string): Promise<void> {
  haystacks.push({ name: `${label} stdout`, text: run.stdout() });
  haystacks.push({ name: `${label} stderr`, text: run.stderr() });
  if (dir === undefined) return;
  for (const name of await readdir(dir)) {
    if (name === "restore-watch.yaml") continue; // our input, not the daemon's output
    haystacks.push({ name: `${label} ${name}`, text: await readFile(join(dir, name), "utf8") });
  }
}

async function scrape(label: string, port: number): Promise<string> {
  const res = await request(`http://127.0.0.1:${port}/metrics`);
  const body = await res.body.text();
  expect(res.statusCode).toBe(200);
  haystacks.push({ name: `${label} /metrics #${haystacks.length}`, text: body });
  for (const path of ["/", "/api/jobs"]) {
    const page = await request(`http://127.0.0.1:${port}${path}`);
    expect(page.statusCode).toBe(200);
    haystacks.push({
      name: `${label} page ${path} #${haystacks.length}`,
      text: await page.body.text(),
    });
  }
  return body;
}

function count(sim: Simulator, status: string): number {
  return sim.stats().byStatus[status] ?? 0;
}

/**
 * Waits until, from line `from` on, lines with `event` (and `to`, when given) name every job;
 * returns the first of each.
 */
async function eachJob(run: DaemonRun, event: string, from: number, what: string, to?: string) {
  const wanted = (l: LogLine) => l.event === event && (to === undefined || l.to === to);
  return waitFor(
    () => {
      const lines = run.lines.slice(from).filter(wanted);
      // The first such line of each job (a later one may be about another error).
      const byJob = new Map<string, LogLine>();
      for (const line of lines) {
        if (!byJob.has(String(line.restoreId))) byJob.set(String(line.restoreId), line);
      }
      return JOBS.every((job) => byJob.has(job.restoreId)) ? byJob : undefined;
    },
    () => {
      const seen = new Set(
        run.lines
          .slice(from)
          .filter(wanted)
          .map((l) => String(l.restoreId)),
      );
      const missing = JOBS.filter((job) => !seen.has(job.restoreId)).map((j) => j.restoreId);
      const theirs = run.lines
        .slice(from)
        .filter((l) => missing.includes(String(l.restoreId)))
        .slice(-20)
        .map((l) => JSON.stringify(l));
      return `${what}; none for ${missing.join(", ")}; their last lines: ${theirs.join("\n")}; stderr: ${run.stderr()}`;
    },
    // After a 429 the daemon holds the whole project for at least 10 s (plus jitter), so the
    // other jobs' errors may come a cycle later than that: a wide margin on two busy cores.
    60_000,
  );
}

/**
 * One run of the daemon through every fault that makes it log an error, with a few /metrics
 * scrapes on the way, ended by SIGTERM.
 */
async function faultyRun(kind: Kind, via: Via): Promise<void> {
  const label = `${kind} as ${via}`;
  const { sim, proxy } = await atlas();
  const { dir, file } = await runDir(`${kind}-${via}`, proxy.url);
  const run = start(["--config", file], credentialsEnv(kind, via), dir);
  try {
    await throughFaults(label, kind, sim, run);
    expect(await stopRun(run, "SIGTERM")).toBe(0);
    expect(run.garbage).toEqual([]);
    expect(run.stderr()).toBe("");
  } finally {
    // Even a failed run's output is scanned.
    await stopRun(run, "SIGKILL");
    await collect(label, run, dir);
  }
}

async function throughFaults(label: string, kind: Kind, sim: Simulator, run: DaemonRun) {
  const started = await run.waitForLine((l) => l.event === "daemon_started", "daemon_started");
  expect(started).toMatchObject({ auth: kind });
  const port = Number(String(started.listen).split(":").pop());
  await eachJob(run, "restore_transition", 0, "every job's first status");
  await scrape(label, port);

  // Credentials Atlas stops accepting: every token revoked, or every digest nonce stale.
  const refused = count(sim, "401");
  const ok = count(sim, "200");
  const tokens = sim.stats().issuedTokens.length;
  if (kind === "serviceAccount") sim.revokeAllTokens();
  else sim.expireNonces();
  await waitFor(
    () =>
      count(sim, "401") > refused &&
      count(sim, "200") >= ok + JOBS.length &&
      (kind === "apiKey" || sim.stats().issuedTokens.length > tokens)
        ? true
        : undefined,
    `${label}: polling again after the credentials were refused`,
  );
  await scrape(label, port);

  if (kind === "serviceAccount") {
    // The token endpoint fails once when the daemon needs a new token.
    const failed = count(sim, "500");
    const issued = sim.stats().issuedTokens.length;
    sim.addFault({ kind: "server_error", match: { api: "token" }, times: 1 });
    sim.revokeAllTokens();
    await waitFor(
      () =>
        count(sim, "500") > failed && sim.stats().issuedTokens.length > issued ? true : undefined,
      `${label}: a new token after the token endpoint failed`,
    );
    await scrape(label, port);
  }

  // A simulator minute later (the jobs are RUNNING by now), one fault per job. The 401 is
  // limited to two answers: the first try, and the retry with a new token when the one it used
  // was no longer fresh.
  const issuedBefore = sim.stats().issuedTokens.length;
  const okBefore = count(sim, "200");
  sim.advance(61);
  if (kind === "serviceAccount") {
    // The jump outlived the 20 s token: wait until the daemon has a new one and polls again.
    await waitFor(
      () =>
        sim.stats().issuedTokens.length > issuedBefore &&
        count(sim, "200") >= okBefore + JOBS.length
          ? true
          : undefined,
      `${label}: a new token after the old one expired`,
    );
  }
  // Every job has read RUNNING since the jump, so none is still failing from the expired token:
  // an error it logged then would hide the one below (a failure of the same kind is logged once).
  await eachJob(run, "restore_transition", 0, `${label}: every job RUNNING`, "RUNNING");
  const mark = run.lines.length;
  sim.addFault({ kind: "server_error", match: { restoreId: A } });
  sim.addFault({ kind: "rate_limit", match: { restoreId: B } });
  sim.addFault({ kind: "malformed_json", match: { restoreId: C } });
  sim.addFault({ kind: "wrong_content_type", match: { restoreId: D } });
  sim.addFault({ kind: "unauthorized", match: { restoreId: E }, times: 2 });
  const errors = await eachJob(run, "restore_poll_error", mark, `${label}: an error per job`);
  expect(errors.get(A)).toMatchObject({ level: 40, status: 500, errorType: "ATLAS_HTTP_ERROR" });
  expect(errors.get(B)).toMatchObject({ level: 40, status: 429, errorType: "ATLAS_HTTP_ERROR" });
  expect(errors.get(C)).toMatchObject({ level: 40, errorType: "ATLAS_DECODE_ERROR" });
  expect(errors.get(D)).toMatchObject({ level: 40, errorType: "ATLAS_DECODE_ERROR" });
  expect(errors.get(E)).toMatchObject({ level: 40, status: 401 });
  await scrape(label, port);
  sim.clearFaults();
  await eachJob(run, "restore_poll_recovered", mark, `${label}: every job recovered`);
  await scrape(label, port);
}

/** A run with credentials Atlas refuses, until every job has logged the failure. */
async function refusedRun(kind: Kind, via: Via): Promise<void> {
  const label = `wrong ${kind} as ${via}`;
  const { proxy } = await atlas();
  const { dir, file } = await runDir(`wrong-${kind}-${via}`, proxy.url);
  const run = start(["--config", file], credentialsEnv(kind, via, true), dir);
  try {
    const started = await run.waitForLine((l) => l.event === "daemon_started", "daemon_started");
    const errors = await eachJob(run, "restore_poll_error", 0, `${label}: an error per job`);
    for (const line of errors.values()) expect(line).toMatchObject({ level: 40 });
    await scrape(label, Number(String(started.listen).split(":").pop()));
    expect(await stopRun(run, "SIGTERM")).toBe(0);
    expect(run.stderr()).toBe("");
  } finally {
    await stopRun(run, "SIGKILL");
    await collect(label, run, dir);
  }
}

describe("the daemon under faults", () => {
  it("a service account given as values", () => faultyRun("serviceAccount", "values"), 150_000);
  it("a service account given as files", () => faultyRun("serviceAccount", "files"), 150_000);
  it("an API key given as values", () => faultyRun("apiKey", "values"), 150_000);
  it("an API key given as files", () => faultyRun("apiKey", "files"), 150_000);
  it("a wrong client secret", () => refusedRun("serviceAccount", "values"), 30_000);
  it("a wrong private key", () => refusedRun("apiKey", "files"), 30_000);
});

describe("the command line", () => {
  it("--check-config prints the public halves and redacts the secrets", async () => {
    const { file, dir } = await runDir("check-config", "http://127.0.0.1:9");
    for (const [kind, via] of [
      ["serviceAccount", "values"],
      ["apiKey", "files"],
    ] as const) {
      const run = start(["--config", file, "--check-config"], credentialsEnv(kind, via), dir);
      expect(await waitForExit(run)).toBe(0);
      const printed = JSON.parse(run.stdout()) as { credentials: Record<string, string> };
      expect(printed.credentials).toEqual(
        kind === "serviceAccount"
          ? { kind, clientId: SERVICE_ACCOUNT.clientId, clientSecret: "<redacted>" }
          : { kind, publicKey: API_KEY.publicKey, privateKey: "<redacted>" },
      );
      await collect(`--check-config ${kind}`, run);
    }
  });

  it("an invalid configuration exits 78 naming the keys, not the values", async () => {
    const dir = join(root, "bad-config");
    await mkdir(dir);
    // A secret pasted into the file where it does not belong, plus a bad schedule.
    const { file } = await writeConfig(
      {
        schedule: "every minute",
        clientSecret: SERVICE_ACCOUNT.clientSecret,
        jobs: [
          {
            groupId: GROUP,
            clusterName: "Cluster0",
            restoreId: A,
            privateKey: API_KEY.privateKey,
          },
        ],
      },
      dir,
    );
    const cases = [
      {
        // A secret set both ways.
        env: {
          ...credentialsEnv("serviceAccount", "values"),
          MONGODB_ATLAS_CLIENT_SECRET_FILE: join(secretsDir, "client-secret"),
        },
        names: ["clientSecret", "schedule", "privateKey", "MONGODB_ATLAS_CLIENT_SECRET"],
      },
      {
        // Half an API key, the half that is secret.
        env: { MONGODB_ATLAS_PRIVATE_API_KEY: API_KEY.privateKey },
        names: ["clientSecret", "schedule", "privateKey", "MONGODB_ATLAS_PUBLIC_API_KEY"],
      },
    ];
    for (const [n, { env, names }] of cases.entries()) {
      const run = start(["--config", file], env, dir);
      expect(await waitForExit(run)).toBe(78);
      for (const name of names) expect(run.stderr()).toContain(name);
      expect(run.stdout()).toBe("");
      await collect(`bad config #${n}`, run);
    }
  });
});

/** Waits for a run that ends by itself. */
async function waitForExit(run: DaemonRun): Promise<number | string> {
  return waitFor(
    () => (run.isClosed() ? run.closed : undefined),
    `the daemon to exit; stderr: ${run.stderr()}`,
    15_000,
  );
}

/** The HA1 of a Digest header: a password equivalent, as secret as the key itself. */
function digestHa1(header: string, password: string): string | undefined {
  const param = (name: string) => new RegExp(`${name}="?([^",]+)"?`).exec(header)?.[1] ?? undefined;
  const username = param("username");
  const realm = param("realm");
  if (username === undefined || realm === undefined) return undefined;
  const algorithm = param("algorithm") === "SHA-256" ? "sha256" : "md5";
  return createHash(algorithm).update(`${username}:${realm}:${password}`).digest("hex");
}

describe("everything collected", () => {
  const needles = (): Needle[] => {
    const list: Needle[] = [];
    const secrets = {
      "client secret": SERVICE_ACCOUNT.clientSecret,
      "private API key": API_KEY.privateKey,
      "wrong client secret": WRONG_CLIENT_SECRET,
      "wrong private API key": WRONG_PRIVATE_KEY,
    };
    for (const [name, value] of Object.entries(secrets)) {
      list.push({ name, value });
      list.push({ name: `${name}, base64`, value: Buffer.from(value).toString("base64") });
    }
    for (const secret of [SERVICE_ACCOUNT.clientSecret, WRONG_CLIENT_SECRET]) {
      const pair = Buffer.from(`${SERVICE_ACCOUNT.clientId}:${secret}`).toString("base64");
      list.push({ name: "Basic credential", value: pair });
    }
    sims.forEach((sim, s) =>
      sim.stats().issuedTokens.forEach((token, t) => {
        list.push({ name: `token ${t} of simulator ${s}`, value: token });
      }),
    );
    proxies.forEach((proxy, p) =>
      proxy.authorizations.forEach((value, a) => {
        list.push({ name: `Authorization #${a} via proxy ${p}`, value });
        const response = /response="?([0-9a-f]+)"?/.exec(value)?.[1];
        if (response !== undefined) {
          list.push({ name: `Digest response #${a} via proxy ${p}`, value: response });
        }
        for (const password of [API_KEY.privateKey, WRONG_PRIVATE_KEY]) {
          const ha1 = value.startsWith("Digest ") ? digestHa1(value, password) : undefined;
          if (ha1 !== undefined) list.push({ name: "Digest HA1", value: ha1 });
        }
      }),
    );
    // One needle per distinct value (the same token is sent many times).
    return [...new Map(list.map((n) => [n.value, n])).values()];
  };

  it("the scan can fail: it finds a planted secret", () => {
    expect(
      findLeaks(
        [{ name: "planted", text: `{"msg":"x","detail":"${API_KEY.privateKey}"}` }],
        [{ name: "private API key", value: API_KEY.privateKey }],
      ),
    ).toMatchObject([{ needle: "private API key", haystack: "planted" }]);
  });

  it("holds real output: runs, state files, metrics, and the public key halves", () => {
    const names = haystacks.map((h) => h.name);
    expect(names.filter((n) => n.includes("/metrics")).length).toBeGreaterThanOrEqual(20);
    const pages = haystacks.filter((h) => h.name.includes(" page /"));
    expect(pages.length).toBeGreaterThanOrEqual(40);
    // The pages did show errors with their details while the faults lasted.
    expect(pages.map((h) => h.text).join("\n")).toMatch(
      /"kind":"http_5\d\d_[A-Z_]+","at":"[^"]+","status":5\d\d/,
    );
    expect(names.filter((n) => n.endsWith("state.json"))).toHaveLength(6);
    const all = haystacks.map((h) => h.text).join("\n");
    expect(all).toContain('"event":"restore_poll_error"');
    expect(all).toContain("atlas_restore_api_requests_total");
    // The non-secret halves do show up (in --check-config), so a missing secret means something.
    expect(
      findLeaks(haystacks, [
        { name: "client id", value: SERVICE_ACCOUNT.clientId },
        { name: "public key", value: API_KEY.publicKey },
      ]).map((l) => l.needle),
    ).toEqual(expect.arrayContaining(["client id", "public key"]));
  });

  it("contains no secret, no issued token and no Authorization value", () => {
    const tokens = sims.flatMap((sim) => sim.stats().issuedTokens);
    expect(tokens.length).toBeGreaterThanOrEqual(6);
    const schemes = new Set(
      proxies.flatMap((proxy) => proxy.authorizations.map((value) => value.split(" ")[0])),
    );
    expect([...schemes].sort()).toEqual(["Basic", "Bearer", "Digest"]);
    const list = needles();
    expect(list.filter((n) => n.name === "Digest HA1").length).toBeGreaterThan(0);
    expect(findLeaks(haystacks, list)).toEqual([]);
  });
});
