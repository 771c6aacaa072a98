/**
 * The simulator's own HTTP control API under `/_sim/`, for tests that run the daemon as a child
 * process: the same operations as the Simulator methods. No authentication; never counted.
 */
import type { Fault } from "./fault.js";
import { parseFault } from "./fault-registry.js";
import { isoSeconds } from "./job-body.js";
import { jsonReply, type Reply } from "./reply.js";
import { ScenarioError } from "./scenario-error.js";
import type { SimulatorStats } from "./stats.js";

/** The operations the control API exposes. */
export interface ControlTarget {
  now(): number;
  advance(seconds: number): void;
  addFault(fault: Fault): void;
  clearFaults(): void;
  revokeAllTokens(): void;
  expireNonces(): void;
  setTenantSunset(date: string | number | null): void;
  stats(): SimulatorStats;
}

const JSON_TYPE = "application/json";

function ok(value: unknown = { ok: true }): Reply {
  return jsonReply(200, value, JSON_TYPE);
}

function fail(status: number, message: string): Reply {
  return jsonReply(status, { error: message }, JSON_TYPE);
}

function parseJson(body: string): unknown {
  try {
    return body.trim() === "" ? {} : (JSON.parse(body) as unknown);
  } catch {
    throw new ScenarioError("request body", ["not valid JSON"]);
  }
}

function field(body: unknown, name: string): unknown {
  return typeof body === "object" && body !== null
    ? (body as Record<string, unknown>)[name]
    : undefined;
}

type Operation = (target: ControlTarget, body: string) => Reply;

const OPERATIONS: Record<string, Partial<Record<string, Operation>>> = {
  now: { GET: (t) => ok(clockState(t)) },
  stats: { GET: (t) => ok(t.stats()) },
  advance: {
    POST: (t, body) => {
      const seconds = field(parseJson(body), "seconds");
      if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
        return fail(400, `seconds: must be a number >= 0 (got ${JSON.stringify(seconds)})`);
      }
      t.advance(seconds);
      return ok(clockState(t));
    },
  },
  faults: {
    POST: (t, body) => {
      t.addFault(parseFault(parseJson(body), "fault"));
      return ok();
    },
    DELETE: (t) => {
      t.clearFaults();
      return ok();
    },
  },
  "revoke-tokens": { POST: (t) => (t.revokeAllTokens(), ok()) },
  "expire-nonces": { POST: (t) => (t.expireNonces(), ok()) },
  "tenant-sunset": {
    POST: (t, body) => {
      const date = field(parseJson(body), "date");
      if (date !== null && typeof date !== "string" && typeof date !== "number") {
        return fail(
          400,
          `date: must be an ISO date, epoch ms or null (got ${JSON.stringify(date)})`,
        );
      }
      t.setTenantSunset(date);
      return ok();
    },
  },
};

function clockState(t: ControlTarget): { now: number; iso: string } {
  const now = t.now();
  return { now, iso: isoSeconds(now) };
}

/** Answers one control request (`name` is the path after `/_sim/`). */
export function handleControlRequest(
  name: string,
  method: string,
  body: string,
  target: ControlTarget,
): Reply {
  const operations = OPERATIONS[name];
  if (!operations) return fail(404, `unknown control path /_sim/${name}`);
  const operation = operations[method];
  if (!operation) {
    const reply = fail(405, `${method} is not allowed on /_sim/${name}`);
    return { ...reply, headers: { ...reply.headers, allow: Object.keys(operations).join(", ") } };
  }
  try {
    return operation(target, body);
  } catch (error) {
    if (error instanceof ScenarioError || error instanceof RangeError)
      return fail(400, error.message);
    throw error;
  }
}
