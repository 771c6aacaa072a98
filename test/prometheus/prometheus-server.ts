/**
 * Runs Debian's real `prometheus` server on loopback and reads it through its HTTP API, the way a
 * user's browser or Grafana would. A missing binary fails the test, never skips it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "undici";
import { waitFor } from "../support/fixtures.js";
import { freePort } from "./free-port.js";
import type { Tool } from "./tools.js";

/** The Prometheus server itself, from the same Debian package as promtool. */
export const PROMETHEUS: Tool = { command: "prometheus", debianPackage: "prometheus" };

/** One series of an instant query: its labels and its value as Prometheus prints it. */
export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: readonly [number, string];
}

/** One active alert of /api/v1/alerts. */
export interface ActiveAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: "pending" | "firing";
  readonly activeAt: string;
  readonly value: string;
}

/** One rule of /api/v1/rules. */
export interface LoadedRule {
  readonly name: string;
  readonly type: "alerting" | "recording";
  readonly state?: "inactive" | "pending" | "firing";
  readonly health: string;
  readonly lastError?: string;
  /** `for`, in seconds. */
  readonly duration?: number;
  readonly alerts?: readonly ActiveAlert[];
}

/** One rule group of /api/v1/rules. */
export interface RuleGroup {
  readonly name: string;
  readonly file: string;
  /** Seconds. */
  readonly interval: number;
  /** When the last evaluation started (RFC 3339), or the zero time before the first one. */
  readonly lastEvaluation: string;
  readonly rules: readonly LoadedRule[];
}

/** A running Prometheus server. */
export interface PrometheusServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** An instant query, evaluated now. */
  query(expr: string): Promise<Sample[]>;
  /** The pending and firing alerts. */
  alerts(): Promise<ActiveAlert[]>;
  ruleGroups(): Promise<RuleGroup[]>;
  /** Waits until every rule group has started an evaluation after `epochMs`. */
  evaluatedAfter(epochMs: number, timeoutMs?: number): Promise<void>;
  /** Its log so far (Prometheus logs to stderr). */
  log(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit code or signal. Idempotent. */
  stop(): Promise<number | string>;
}

/** Where the server reads its configuration and keeps its data. */
export interface PrometheusOptions {
  readonly configFile: string;
  readonly storageDir: string;
  /** The binary; the real one unless a test wants a missing one. */
  readonly command?: string;
}

/** The message for a missing binary, worded as in tools.ts's `run`. */
function notInstalled(command: string): string {
  const pkg = PROMETHEUS.debianPackage;
  return (
    `${command} is not installed: install Debian's ${pkg} package ` +
    `(apt-get install ${pkg}); these tests need the real tool and do not skip`
  );
}

async function getJson<T>(url: string): Promise<T> {
  const response = await request(url, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const text = await response.body.text();
  const body = JSON.parse(text) as { status: string; data: T; error?: string };
  if (response.statusCode !== 200 || body.status !== "success") {
    throw new Error(`GET ${url}: ${response.statusCode} ${text}`);
  }
  return body.data;
}

type Outcome = { kind: "ready" } | { kind: "portTaken" } | { kind: "failed"; error: Error };

/** One start on one port: ready, the port was taken meanwhile, or failed for good. */
async function attempt(
  child: ChildProcess,
  url: string,
  log: () => string,
  command: string,
): Promise<Outcome> {
  let ended: Outcome | undefined;
  child.on("error", (error: NodeJS.ErrnoException) => {
    ended = {
      kind: "failed",
      error:
        error.code === "ENOENT"
          ? new Error(notInstalled(command), { cause: error })
          : new Error(`${command} did not start: ${error.message}`, { cause: error }),
    };
  });
  // "close", not "exit": by then the log holds everything the process wrote.
  child.once("close", (code, signal) => {
    ended ??= /address already in use/.test(log())
      ? { kind: "portTaken" }
      : {
          kind: "failed",
          error: new Error(
            `${command} exited with ${code ?? signal} before it was ready:\n${log()}`,
          ),
        };
  });
  const ready = waitFor(
    async () => {
      if (ended) return ended;
      try {
        const response = await request(`${url}/-/ready`, { headersTimeout: 1_000 });
        await response.body.dump();
        return response.statusCode === 200 ? ({ kind: "ready" } as const) : undefined;
      } catch {
        return undefined; // not listening yet
      }
    },
    `${command} to be ready at ${url}`,
    15_000,
  );
  return ready.catch((error: unknown) => ({
    kind: "failed",
    error: new Error(`${String(error)}; log:\n${log()}`, { cause: error }),
  }));
}

/**
 * Starts Prometheus on 127.0.0.1 and a free port (another free one if that was taken in the
 * meantime) and resolves once /-/ready answers 200.
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusServer> {
  const command = options.command ?? PROMETHEUS.command;
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(
      command,
      [
        `--config.file=${options.configFile}`,
        `--storage.tsdb.path=${options.storageDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let log = "";
    const append = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-64 * 1024);
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    const exited = new Promise<number | string>((resolve) =>
      child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")),
    );
    const outcome = await attempt(child, url, () => log, command);
    if (outcome.kind === "portTaken" && tries < 3) continue;
    if (outcome.kind !== "ready") {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      throw outcome.kind === "failed"
        ? outcome.error
        : new Error(`${command}: port ${port} taken ${tries} times:\n${log}`);
    }

    let stopping: Promise<number | string> | undefined;
    const server: PrometheusServer = {
      url,
      async query(expr) {
        const data = await getJson<{ resultType: string; result: Sample[] }>(
          `${url}/api/v1/query?query=${encodeURIComponent(expr)}`,
        );
        if (data.resultType !== "vector") throw new Error(`${expr}: a ${data.resultType}`);
        return data.result;
      },
      async alerts() {
        return (await getJson<{ alerts: ActiveAlert[] }>(`${url}/api/v1/alerts`)).alerts;
      },
      async ruleGroups() {
        return (await getJson<{ groups: RuleGroup[] }>(`${url}/api/v1/rules`)).groups;
      },
      async evaluatedAfter(epochMs, timeoutMs = 10_000) {
        await waitFor(
          async () => {
            const groups = await server.ruleGroups();
            const done = groups.every((group) => Date.parse(group.lastEvaluation) > epochMs);
            return groups.length > 0 && done ? true : undefined;
          },
          `a rule evaluation after ${new Date(epochMs).toISOString()}`,
          timeoutMs,
        );
      },
      log: () => log,
      stop() {
        stopping ??= (async () => {
          if (child.exitCode !== null || child.signalCode !== null) return exited;
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
          try {
            return await exited;
          } finally {
            clearTimeout(timer);
          }
        })();
        return stopping;
      },
    };
    return server;
  }
}
