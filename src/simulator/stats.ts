/** Counts what the simulator was asked and what it answered, for tests and benchmarks. */
import type { RouteKey } from "./route.js";

/** A snapshot of the counters. */
export interface SimulatorStats {
  /** Every Atlas or OAuth request received, whatever its answer (control requests excluded). */
  requests: number;
  byRoute: Record<string, number>;
  /** Restore-job LIST requests (one per page) by cluster, keyed `groupId/clusterName`. */
  listsByCluster: Record<string, number>;
  /** Answers by status ("200", "401", …), and "reset" for connections destroyed on purpose. */
  byStatus: Record<string, number>;
  tokenRequests: number;
  revokeRequests: number;
  /** Tokens issued, in order. */
  issuedTokens: string[];
  /** Tokens clients revoked through the revoke endpoint, in order (not `revokeAllTokens()`). */
  revokedTokens: string[];
  /** Tokens live right now (issued, unexpired, unrevoked): Atlas refuses new ones at 100. */
  liveTokens: number;
}

/** Mutable counters behind `stats()`. */
export class StatsRecorder {
  private stats: SimulatorStats = empty();

  /** Counts one request on a route. */
  request(route: RouteKey): void {
    this.stats.requests += 1;
    this.stats.byRoute[route] = (this.stats.byRoute[route] ?? 0) + 1;
    if (route === "token") this.stats.tokenRequests += 1;
    if (route === "revoke") this.stats.revokeRequests += 1;
  }

  /** Counts one restore-job LIST request (one page) of a cluster. */
  listed(groupId: string, clusterName: string): void {
    const key = `${groupId}/${clusterName}`;
    this.stats.listsByCluster[key] = (this.stats.listsByCluster[key] ?? 0) + 1;
  }

  /** Counts one answer (a status) or one connection destroyed on purpose. */
  answer(status: number | "reset"): void {
    const key = String(status);
    this.stats.byStatus[key] = (this.stats.byStatus[key] ?? 0) + 1;
  }

  /** Records an issued token. */
  issued(token: string): void {
    this.stats.issuedTokens.push(token);
  }

  /** Records a token a client revoked. */
  revoked(token: string): void {
    if (!this.stats.revokedTokens.includes(token)) this.stats.revokedTokens.push(token);
  }

  /** A deep copy, safe to keep. */
  snapshot(): SimulatorStats {
    return structuredClone(this.stats);
  }

  /** Zeroes every counter and list. */
  reset(): void {
    this.stats = empty();
  }
}

function empty(): SimulatorStats {
  return {
    requests: 0,
    byRoute: {},
    listsByCluster: {},
    byStatus: {},
    tokenRequests: 0,
    revokeRequests: 0,
    issuedTokens: [],
    revokedTokens: [],
    liveTokens: 0,
  };
}
