/**
 * The baseline of bench/daemon.ts: the same restore-job reads as the daemon's, done with nothing
 * but undici. It reads the bench's plan (a JSON file named by its one argument), gets a bearer
 * token once and says so (`{"event":"ready"}`), then runs one pass for each `pass` line on its
 * standard input: it GETs every path of the plan with `request()` and `body.json()`,
 * `concurrency` at a time, through one agent with the daemon's settings, and prints one JSON line
 * (`"event":"pass"`) with the pass's requests, failures, CPU time (process.cpuUsage: all threads,
 * and its system part) and wall time. The bench asks for a pass in each of the daemon's idle
 * gaps, so that both sides meet the same machine. When its standard input ends, it prints its
 * peak RSS (VmHWM; `"event":"end"`) and exits. Credentials come from MONGODB_ATLAS_CLIENT_ID and
 * MONGODB_ATLAS_CLIENT_SECRET, as the daemon's do.
 *
 * Plain JavaScript run by `node` itself, so that no TypeScript loader adds to what it measures.
 * The plan: { baseUrl, paths, accept, userAgent, concurrency }.
 */
import { Buffer } from "node:buffer";
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import process from "node:process";
import { createInterface } from "node:readline";
import { EnvHttpProxyAgent, request } from "undici";

const plan = JSON.parse(await readFile(process.argv[2] ?? "", "utf8"));

// createAgent's settings (src/atlas/transport.ts), written out here so that a change there
// cannot move the baseline: keep-alive, connect timeout, body size limit, no proxy.
const dispatcher = new EnvHttpProxyAgent({
  connect: { timeout: 10_000 },
  keepAliveTimeout: 30_000,
  keepAliveMaxTimeout: 120_000,
  maxResponseSize: 8 * 1024 * 1024,
  httpProxy: "",
  httpsProxy: "",
  noProxy: "",
});
// The daemon's header and body timeouts (DEFAULT_TIMEOUTS).
const timeouts = { headersTimeout: 30_000, bodyTimeout: 30_000 };

/** A bearer token from the token endpoint, as the daemon's service account gets one. */
async function token() {
  const pair = `${process.env.MONGODB_ATLAS_CLIENT_ID}:${process.env.MONGODB_ATLAS_CLIENT_SECRET}`;
  const response = await request(`${plan.baseUrl}/api/oauth/token`, {
    method: "POST",
    headers: {
      "user-agent": plan.userAgent,
      authorization: `Basic ${Buffer.from(pair, "utf8").toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
    },
    body: "grant_type=client_credentials",
    dispatcher,
    ...timeouts,
  });
  const body = await response.body.json();
  if (response.statusCode !== 200) throw new Error(`token: HTTP ${response.statusCode}`);
  return body.access_token;
}

const headers = {
  "user-agent": plan.userAgent,
  accept: plan.accept,
  authorization: `Bearer ${await token()}`,
};

/** One read of every path, `concurrency` requests in flight; what it cost. */
async function pass() {
  let requests = 0;
  let failures = 0;
  let next = 0;
  const worker = async () => {
    while (next < plan.paths.length) {
      const path = plan.paths[next++];
      const response = await request(`${plan.baseUrl}${path}`, {
        headers,
        dispatcher,
        ...timeouts,
      });
      await response.body.json();
      requests++;
      if (response.statusCode !== 200) failures++;
    }
  };
  const started = performance.now();
  const cpu = process.cpuUsage();
  await Promise.all(Array.from({ length: plan.concurrency }, worker));
  const used = process.cpuUsage(cpu);
  return {
    requests,
    failures,
    cpuSeconds: (used.user + used.system) / 1e6,
    systemSeconds: used.system / 1e6,
    wallSeconds: (performance.now() - started) / 1000,
  };
}

const say = (line) => process.stdout.write(`${JSON.stringify(line)}\n`);

say({ event: "ready" });
for await (const line of createInterface({ input: process.stdin })) {
  if (line !== "pass") throw new Error(`unknown command ${JSON.stringify(line)}`);
  say({ event: "pass", ...(await pass()) });
}
const status = await readFile("/proc/self/status", "utf8").catch(() => "");
const peakKiB = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
await dispatcher.close();
say({ event: "end", peakRssBytes: peakKiB === undefined ? null : Number(peakKiB) * 1024 });
