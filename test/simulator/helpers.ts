/** Shared fixtures of the simulator tests: a scenario, a manual-clock start, request helpers. */
import { request, type Dispatcher } from "undici";
import {
  MEDIA_TYPES,
  TOKEN_PATH,
  restoreJobPath,
  restoreJobsPath,
} from "../../src/atlas/endpoints.js";
import type { ApiFamily, JobRef } from "../../src/atlas/model.js";
import type { ScenarioInput, Simulator } from "../../src/simulator/index.js";
import { API_KEY, GROUP, SERVICE_ACCOUNT, T0, startSim } from "../support/fixtures.js";

export { API_KEY, GROUP, SERVICE_ACCOUNT, T0 };
export const OTHER_GROUP = "5f0a1b2c3d4e5f6a7b8c9d0e";
export const JOB = "6a793f81d2c4a03c5e4b1f20";
export const JOB2 = "6a793f81d2c4a03c5e4b1f21";
export const FLEX_JOB = "6a793f81d2c4a03c5e4b1f30";
export const TENANT_REF: JobRef = { groupId: GROUP, clusterName: "Cluster0", restoreId: JOB };
export const FLEX_REF: JobRef = { groupId: GROUP, clusterName: "Flex0", restoreId: FLEX_JOB };

/** A scenario with one tenant cluster (two jobs) and one flex cluster (one job). */
export function baseScenario(overrides: Partial<ScenarioInput> = {}): ScenarioInput {
  return {
    apiKeys: [API_KEY],
    serviceAccounts: [SERVICE_ACCOUNT],
    clusters: [
      { groupId: GROUP, name: "Cluster0", kind: "tenant" },
      { groupId: GROUP, name: "Flex0", kind: "flex" },
    ],
    jobs: [
      {
        groupId: GROUP,
        clusterName: "Cluster0",
        id: JOB,
        script: [
          { afterSeconds: 0, status: "PENDING" },
          { afterSeconds: 5, status: "QUEUED" },
          { afterSeconds: 10, status: "RUNNING" },
          { afterSeconds: 30, status: "COMPLETED" },
        ],
      },
      {
        groupId: GROUP,
        clusterName: "Cluster0",
        id: JOB2,
        deliveryType: "DOWNLOAD",
        createdAfterSeconds: 20,
        script: [
          { afterSeconds: 20, status: "RUNNING" },
          { afterSeconds: 40, status: "FAILED" },
        ],
      },
      {
        groupId: GROUP,
        clusterName: "Flex0",
        id: FLEX_JOB,
        script: [
          { afterSeconds: 0, status: "PENDING" },
          { afterSeconds: 3, status: "RUNNING" },
          { afterSeconds: 63, status: "COMPLETED" },
        ],
      },
    ],
    ...overrides,
  };
}

/** Starts a manual-clock simulator at T0. */
export function start(scenario: ScenarioInput = baseScenario()): Promise<Simulator> {
  return startSim(scenario);
}

/** A response read in full. */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** Parses an answer's body as JSON. */
export function json<T = Record<string, unknown>>(answer: Answer): T {
  return JSON.parse(answer.text) as T;
}

/** Sends one request and reads the whole answer. */
export async function send(
  url: string,
  options: {
    method?: Dispatcher.HttpMethod;
    headers?: Record<string, string>;
    body?: string;
    dispatcher?: Dispatcher;
  } = {},
): Promise<Answer> {
  const res = await request(url, {
    method: options.method ?? "GET",
    headers: options.headers ?? {},
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** Fetches a service-account token. */
export async function fetchToken(sim: Simulator, account = SERVICE_ACCOUNT): Promise<string> {
  const answer = await send(`${sim.url}${TOKEN_PATH}`, {
    method: "POST",
    headers: {
      authorization: `Basic ${Buffer.from(`${account.clientId}:${account.clientSecret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    body: "grant_type=client_credentials",
  });
  if (answer.status !== 200) throw new Error(`token request: HTTP ${answer.status} ${answer.text}`);
  return json<{ access_token: string }>(answer).access_token;
}

/** The URL of one job (or, without restoreId, of the LIST) on a family. */
export function jobUrl(
  sim: Simulator,
  api: ApiFamily,
  ref: JobRef | Omit<JobRef, "restoreId">,
): string {
  const path =
    "restoreId" in ref
      ? restoreJobPath(api, ref)
      : restoreJobsPath(api, ref.groupId, ref.clusterName);
  return `${sim.url}${path}`;
}

/** GET with a bearer token and the family's Accept header. */
export function apiGet(
  url: string,
  api: ApiFamily,
  token: string,
  extraHeaders: Record<string, string> = {},
  dispatcher?: Dispatcher,
): Promise<Answer> {
  return send(url, {
    headers: { authorization: `Bearer ${token}`, accept: MEDIA_TYPES[api], ...extraHeaders },
    ...(dispatcher ? { dispatcher } : {}),
  });
}
