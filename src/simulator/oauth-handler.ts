/**
 * Serves `POST /api/oauth/token` and `POST /api/oauth/revoke`, with `api: token` and
 * `api: revoke` faults.
 */
import type { Exchange } from "./exchange.js";
import type { FaultRegistry } from "./fault-registry.js";
import { performFault, type FaultContext } from "./fault-response.js";
import {
  handleRevokeRequest,
  handleTokenRequest,
  oauthErrorReply,
  type OAuthRequest,
} from "./oauth-endpoint.js";
import type { Reply } from "./reply.js";
import type { SimClock } from "./sim-clock.js";
import type { StatsRecorder } from "./stats.js";
import type { TokenAuthority } from "./token-authority.js";

/** What the OAuth endpoints read or change. */
export interface OAuthDeps {
  readonly tokens: TokenAuthority;
  readonly faults: FaultRegistry;
  readonly stats: StatsRecorder;
  readonly clock: SimClock;
}

/** Answers one request on the token or revoke endpoint, whose body was read in full. */
export function handleOAuthRequest(
  ex: Exchange,
  kind: "token" | "revoke",
  body: string,
  deps: OAuthDeps,
): void {
  if (ex.req.method !== "POST") {
    const reply = oauthErrorReply(405, "invalid_request", "Use POST.");
    ex.send({ ...reply, headers: { ...reply.headers, allow: "POST" } });
    return;
  }
  const request: OAuthRequest = {
    authorization: ex.req.headers.authorization,
    contentType: ex.req.headers["content-type"],
    body,
  };
  if (kind === "revoke") {
    const revoke = (): Reply => {
      const outcome = handleRevokeRequest(request, deps.tokens);
      if (outcome.revoked !== undefined) deps.stats.revoked(outcome.revoked);
      return outcome.reply;
    };
    const fault = deps.faults.take({ api: "revoke" }, deps.clock.elapsedSeconds());
    if (!fault) ex.send(revoke());
    else performFault(ex, fault, oauthFaultContext(revoke));
    return;
  }
  // Computed only when the answer is sent, so that a fault that replaces it issues no token.
  const normal = (): Reply => {
    const outcome = handleTokenRequest(request, deps.tokens);
    if (outcome.issued !== undefined) deps.stats.issued(outcome.issued);
    return outcome.reply;
  };
  const fault = deps.faults.take({ api: "token" }, deps.clock.elapsedSeconds());
  if (!fault) {
    ex.send(normal());
    return;
  }
  performFault(ex, fault, oauthFaultContext(normal));
}

/** How faults answer on an OAuth endpoint whose normal answer is `normal`. */
function oauthFaultContext(normal: () => Reply): FaultContext {
  return {
    list: false,
    contentType: "application/json;charset=UTF-8",
    headers: {},
    normal,
    sample: normal,
    wrongId: normal,
    unauthorized: () => oauthErrorReply(401, "invalid_client", "Client authentication failed."),
  };
}
