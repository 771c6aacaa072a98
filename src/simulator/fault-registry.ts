/** The active faults, and which one (if any) a request meets. */
import { faultSchema, type Fault } from "./fault.js";
import { ScenarioError, describeIssues } from "./scenario-error.js";

/** What a request is, as faults match it. */
export interface FaultTarget {
  readonly api: "tenant" | "flex" | "dedicated" | "token" | "revoke" | "groups" | "flexClusters";
  readonly orgId?: string;
  readonly groupId?: string;
  readonly clusterName?: string;
  readonly restoreId?: string;
  /** Whether the request is a LIST (undefined for the token endpoint). */
  readonly list?: boolean;
}

interface ActiveFault {
  readonly fault: Fault;
  remaining: number;
}

/** Validates a fault given as JSON or by code; throws a ScenarioError naming bad keys. */
export function parseFault(input: unknown, source = "fault"): Fault {
  const result = faultSchema.safeParse(input, { reportInput: true });
  if (!result.success) throw new ScenarioError(source, describeIssues(result.error.issues));
  return result.data;
}

/** Holds faults in the order they were added; the first that matches a request wins. */
export class FaultRegistry {
  private faults: ActiveFault[] = [];

  /** Adds a (validated) fault after the existing ones. */
  add(fault: Fault): void {
    this.faults.push({ fault, remaining: fault.times ?? Infinity });
  }

  /** Removes every fault. */
  clear(): void {
    this.faults = [];
  }

  /** How many faults are active. */
  get size(): number {
    return this.faults.length;
  }

  /**
   * The first fault matching `target` at `t` (seconds since t=0), using up one of its `times`.
   * Faults without `match.api` apply to every restore-job family, never to the OAuth endpoints.
   */
  take(target: FaultTarget, t: number): Fault | undefined {
    const index = this.faults.findIndex((a) => matches(a.fault, target, t));
    const active = this.faults[index];
    if (!active) return undefined;
    active.remaining -= 1;
    if (active.remaining <= 0) this.faults.splice(index, 1);
    return active.fault;
  }
}

function matches(fault: Fault, target: FaultTarget, t: number): boolean {
  if (fault.afterSeconds !== undefined && t < fault.afterSeconds) return false;
  if (fault.untilSeconds !== undefined && t >= fault.untilSeconds) return false;
  const m = fault.match;
  const restoreJobs =
    target.api === "tenant" || target.api === "flex" || target.api === "dedicated";
  if (m?.api === undefined ? !restoreJobs : m.api !== target.api) return false;
  if (m?.orgId !== undefined && m.orgId !== target.orgId) return false;
  if (m?.list !== undefined && m.list !== target.list) return false;
  if (m?.groupId !== undefined && m.groupId !== target.groupId) return false;
  if (m?.clusterName !== undefined && m.clusterName !== target.clusterName) return false;
  if (m?.restoreId !== undefined && m.restoreId !== target.restoreId) return false;
  return true;
}
