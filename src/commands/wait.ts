/**
 * `wait`: polls restore jobs until each is COMPLETED, FAILED or CANCELLED, the timeout passes or a signal
 * comes, with the daemon's client, authentication, retries, Retry-After pacing, decoding and
 * tracker; no state file, no server. Prints one JSON line per job on stdout when it ends and
 * returns the exit code. Every IO dependency is a parameter; only main.ts touches the process.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher } from "undici";
import { createAuthenticator, type Authenticator } from "../atlas/auth.js";
import { AtlasClient } from "../atlas/client.js";
import { isAtlasError } from "../atlas/errors.js";
import { headerValue, parseNonNegativeInt } from "../atlas/headers.js";
import type { JobRef } from "../atlas/model.js";
import {
  createAgent,
  DEFAULT_TIMEOUTS,
  type RequestObserver,
  type Timeouts,
} from "../atlas/transport.js";
import type { AtlasAccess } from "../config/atlas-access.js";
import { CONFIG_DEFAULTS } from "../config/defaults.js";
import { parseCalendarDate } from "../config/calendar-date.js";
import type { WaitArgs } from "../config/wait-args.js";
import { bucketKey, Pacer, PollDeferredError } from "../polling/pacer.js";
import { withResilience, type FetchJob, type ResilienceOptions } from "../polling/resilience.js";
import {
  initialState,
  resolveApi,
  switchApi,
  tenantGoneReason,
  type TrackerEvent,
} from "../tracker/tracker.js";
import { USER_AGENT } from "../version.js";
import { describeError, endLine, eventLine } from "./wait-lines.js";
import { answered, exitCodeOf, failed, resultOf, stopped, type WaitJob } from "./wait-outcome.js";

/** What to wait for: the command line with its project resolved. */
export interface WaitRequest extends Omit<WaitArgs, "groupId"> {
  readonly groupId: string;
}

/** Replaceable dependencies; each defaults to the real thing where it has one. */
export interface WaitDeps {
  readonly access: AtlasAccess;
  /** Receives each stdout line (one JSON object, no newline). */
  readonly stdout: (line: string) => void;
  /** Receives each human line (no newline). */
  readonly stderr: (line: string) => void;
  /** Aborted on SIGINT or SIGTERM, with the signal's name as its reason. */
  readonly interrupt: AbortSignal;
  /** The HTTP dispatcher for Atlas; by default a keep-alive Agent owned by the command. */
  readonly agent?: Dispatcher;
  readonly now?: () => number;
  /** A number in [0, 1), for the jitter of the interval. */
  readonly random?: () => number;
  readonly timeouts?: Timeouts;
  /** Retry tuning; the daemon's defaults suit Atlas. */
  readonly retry?: Omit<ResilienceOptions, "pacer" | "now">;
}

/** The longest delay one timer can hold (Node.js fires longer ones at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Share of the interval added at random, so that many waits do not poll in step. */
const JITTER = 0.1;

/** The daemon's default tenant sunset: `auto` resolves as the daemon does out of the box. */
const TENANT_SUNSET = (() => {
  const parsed = parseCalendarDate(CONFIG_DEFAULTS.tenantSunset);
  if (!parsed.ok) throw new Error(`invalid built-in tenant sunset: ${parsed.reason}`);
  return parsed.value;
})();

/** Calls `fn` at epoch `when` (never if infinite), re-arming past the longest timer; returns a cancel. */
function at(when: number, now: () => number, fn: () => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    const left = when - now();
    if (left <= 0) fn();
    else timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  if (Number.isFinite(when)) arm();
  return () => clearTimeout(timer);
}

/** Feeds Atlas's RateLimit-* headers to the pacer, as the daemon does. */
function pacing(pacer: Pacer): RequestObserver {
  return ({ api, groupId, headers }) => {
    if (api === "oauth" || groupId === undefined || headers === undefined) return;
    pacer.observe(
      bucketKey(api, groupId),
      parseNonNegativeInt(headerValue(headers, "ratelimit-remaining")),
      parseNonNegativeInt(headerValue(headers, "ratelimit-limit")),
    );
  };
}

/**
 * The authenticator with one policy changed: a 401 is Atlas's answer, never a reason to fetch
 * another token. The daemon fetches one to survive a token revoked while it runs for days;
 * `wait` fetches its token once (refreshed only before it expires), so that a project the
 * account may not read ends the wait as refused instead of leaving a trail of live tokens.
 */
function withoutRefetch(authenticator: Authenticator): Authenticator {
  return {
    dispatcher: authenticator.dispatcher,
    headers: (signal) => authenticator.headers(signal),
    unauthorized: () => false,
    close: () => authenticator.close(),
  };
}

/**
 * Waits for every job of `request` and returns the exit code (0, 1, 2, 3 or 130). The
 * service-account token, if one was fetched, is revoked before it returns, whatever the outcome.
 */
export async function runWait(request: WaitRequest, deps: WaitDeps): Promise<number> {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const timeouts = deps.timeouts ?? DEFAULT_TIMEOUTS;
  const startedAt = now();
  const deadline = request.timeoutMs === undefined ? Infinity : startedAt + request.timeoutMs;

  // Aborted at the timeout or on a signal: ends the sleep, the pacer's waits and every request.
  const stop = new AbortController();
  let reason: "timeout" | "interrupted" | undefined;
  const end = (why: "timeout" | "interrupted"): void => {
    if (reason !== undefined) return;
    reason = why;
    stop.abort(why);
  };
  const onInterrupt = (): void => end("interrupted");
  deps.interrupt.addEventListener("abort", onInterrupt, { once: true });
  if (deps.interrupt.aborted) onInterrupt();
  const cancelTimeout = at(deadline, now, () => end("timeout"));

  const ownedAgent = deps.agent ? undefined : createAgent({ connectTimeoutMs: timeouts.connectMs });
  const agent = deps.agent ?? (ownedAgent as Dispatcher);
  const pacer = new Pacer({ now });
  const edge = {
    baseUrl: deps.access.baseUrl,
    userAgent: USER_AGENT,
    timeouts,
    observer: pacing(pacer),
    now,
  };
  const authenticator = withoutRefetch(
    createAuthenticator(deps.access.credentials, { agent, ...edge }),
  );
  const client = new AtlasClient({ ...edge, authenticator });
  const fetchJob: FetchJob = withResilience(
    (api, ref, signal) => client.getRestoreJob(api, ref, signal),
    { ...deps.retry, pacer, now },
  );

  const refs: JobRef[] = request.restoreIds.map((restoreId) => ({
    groupId: request.groupId,
    clusterName: request.clusterName,
    restoreId,
  }));
  let jobs: WaitJob[] = refs.map((ref) => ({
    state: initialState(ref, resolveApi(request.api, undefined, startedAt, TENANT_SUNSET).api),
    refusals: 0,
  }));
  const report = (wait: WaitJob, events: readonly TrackerEvent[]): void => {
    for (const event of events) {
      const line = eventLine(wait.state, event);
      if (line !== undefined) deps.stderr(line);
    }
  };

  /** Polls one job once (twice when `auto` leaves a tenant endpoint that is gone). */
  const poll = async (wait: WaitJob, ref: JobRef): Promise<WaitJob> => {
    const t = now();
    const resolved = resolveApi(request.api, wait.state, t, TENANT_SUNSET);
    const moved = switchApi(wait.state, resolved.api, resolved.reason, t, request.api === "auto");
    let current: WaitJob = { ...wait, state: moved.state };
    report(current, moved.events);
    for (;;) {
      try {
        const job = await fetchJob(current.state.api, ref, { signal: stop.signal, deadline });
        const step = answered(current, job, now());
        report(step.wait, step.events);
        return step.wait;
      } catch (error) {
        // Stopped, or Atlas's Retry-After runs past the timeout: nothing more to learn.
        if (stop.signal.aborted || error instanceof PollDeferredError) return current;
        if (!isAtlasError(error)) throw error;
        const gone =
          request.api === "auto" && current.state.api === "tenant"
            ? tenantGoneReason(error)
            : undefined;
        if (gone !== undefined) {
          const step = switchApi(current.state, "flex", gone, now(), true);
          current = { ...current, state: step.state };
          report(current, step.events);
          continue;
        }
        const step = failed(current, error, now());
        report(step.wait, step.events);
        const givenUp = endLine(step.wait, request.timeoutMs, undefined);
        if (givenUp !== undefined) deps.stderr(givenUp);
        return step.wait;
      }
    }
  };

  try {
    while (!stop.signal.aborted) {
      for (const [index, ref] of refs.entries()) {
        const wait = jobs[index];
        if (wait === undefined || wait.outcome !== undefined || stop.signal.aborted) continue;
        const next = await poll(wait, ref);
        jobs = jobs.map((job, i) => (i === index ? next : job));
      }
      if (jobs.every((job) => job.outcome !== undefined)) break;
      const delay = request.intervalMs * (1 + JITTER * random());
      await sleep(delay, undefined, { signal: stop.signal }).catch(() => undefined);
    }
    if (reason !== undefined) {
      const why = reason;
      const endedAt = now();
      const signal = typeof deps.interrupt.reason === "string" ? deps.interrupt.reason : undefined;
      jobs = jobs.map((job) => {
        if (job.outcome !== undefined) return job;
        const ended = stopped(job, why, endedAt);
        const line = endLine(ended, request.timeoutMs, signal);
        if (line !== undefined) deps.stderr(line);
        return ended;
      });
    }
    refs.forEach((ref, index) => {
      const job = jobs[index];
      if (job !== undefined) deps.stdout(JSON.stringify(resultOf(ref, job, startedAt)));
    });
    return exitCodeOf(jobs);
  } finally {
    cancelTimeout();
    deps.interrupt.removeEventListener("abort", onInterrupt);
    const revoked = await authenticator.close();
    if (revoked.status === "failed") {
      // A token left alive expires on its own; say so, the outcome stands.
      deps.stderr(`could not revoke the service-account token: ${describeError(revoked.error)}`);
    }
    await ownedAgent?.close();
  }
}
