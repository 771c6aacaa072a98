/** Shared fixtures for tests that talk to the Atlas simulator through the real client. */
import { Agent, type Dispatcher } from "undici";
import { createAuthenticator } from "../../src/atlas/auth.js";
import { AtlasClient } from "../../src/atlas/client.js";
import type { RequestObservation, Timeouts } from "../../src/atlas/transport.js";
import type { Credentials } from "../../src/config/settings.js";
import {
  parseScenario,
  startSimulator,
  type ScenarioInput,
  type Simulator,
} from "../../src/simulator/index.js";

export const GROUP = "32b6e34b3d91647abb20e7b8";
/** t=0 of the scenarios: fixed so that dates in bodies are predictable. */
export const T0 = Date.parse("2025-06-01T12:00:00Z");

export const API_KEY = { publicKey: "pubkeyabc", privateKey: "5f1e0c2a-private-key-never-logged" };
export const SERVICE_ACCOUNT = {
  clientId: "mdb_sa_id_test0001",
  clientSecret: "mdb_sa_sk_secret-never-logged",
};

export const API_KEY_CREDENTIALS: Credentials = { kind: "apiKey", ...API_KEY };
export const SERVICE_ACCOUNT_CREDENTIALS: Credentials = {
  kind: "serviceAccount",
  ...SERVICE_ACCOUNT,
};

/** A 24-hex id ending in `n`. */
export function id(n: number): string {
  return `6a793f81d2c4a03c${n.toString(16).padStart(8, "0")}`;
}

/** Starts a simulator on a manual clock with the scenario's credentials filled in. */
export async function startSim(scenario: ScenarioInput): Promise<Simulator> {
  return startSimulator({
    scenario: parseScenario({
      apiKeys: [API_KEY],
      serviceAccounts: [SERVICE_ACCOUNT],
      ...scenario,
    }),
    clock: "manual",
    startTime: T0,
  });
}

/** A client against the simulator, its agent, and every request it observed. */
export function clientFor(
  sim: Simulator,
  credentials: Credentials,
  timeouts: Timeouts = { connectMs: 2_000, headersMs: 2_000, bodyMs: 2_000 },
  agent: Dispatcher = new Agent({ maxResponseSize: 1024 * 1024 }),
) {
  const observed: RequestObservation[] = [];
  const observer = (o: RequestObservation) => observed.push(o);
  const authenticator = createAuthenticator(credentials, {
    agent,
    baseUrl: sim.url,
    userAgent: "atlas-restore-watch/test",
    timeouts,
    observer,
    now: () => sim.now(),
  });
  const client = new AtlasClient({
    baseUrl: sim.url,
    authenticator,
    userAgent: "atlas-restore-watch/test",
    timeouts,
    observer,
    now: () => sim.now(),
  });
  return { client, agent, authenticator, observed };
}

/**
 * An Agent for which no host resolves, failing the way getaddrinfo does for an unknown name:
 * a DNS failure without any DNS traffic leaving the machine.
 */
export function unresolvableAgent(): Agent {
  return new Agent({
    connect: {
      lookup: (host, _options, callback) =>
        callback(
          Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" }),
          "",
          4,
        ),
    },
  });
}

/**
 * Waits until `check` returns a value other than undefined or false, or fails after `timeoutMs`.
 * `what` names the condition; as a function, it is asked at the timeout, to describe what was seen.
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string | (() => string),
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      const described = typeof what === "function" ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${described}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
