import { Agent, errors, request } from "undici";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MEDIA_TYPES, TOKEN_PATH } from "../../src/atlas/endpoints.js";
import type { Fault, Simulator } from "../../src/simulator/index.js";
import {
  FLEX_REF,
  GROUP,
  JOB,
  JOB2,
  SERVICE_ACCOUNT,
  TENANT_REF,
  apiGet,
  baseScenario,
  fetchToken,
  jobUrl,
  json,
  send,
  start,
} from "./helpers.js";

let sim: Simulator;
let token: string;
let agent: Agent;
beforeEach(async () => {
  sim = await start();
  token = await fetchToken(sim);
  agent = new Agent({ headersTimeout: 2000, bodyTimeout: 2000 });
});
afterEach(async () => {
  await sim.close();
  await agent.close();
});

const headers = (): Record<string, string> => ({
  authorization: `Bearer ${token}`,
  accept: MEDIA_TYPES.tenant,
});

function getJob(dispatcher: Agent = agent) {
  return apiGet(jobUrl(sim, "tenant", TENANT_REF), "tenant", token, {}, dispatcher);
}

/** Sends one request and reports the error it fails with, or its status. */
async function outcome(dispatcher: Agent, url = jobUrl(sim, "tenant", TENANT_REF)) {
  try {
    const res = await request(url, { headers: headers(), dispatcher });
    const status = res.statusCode;
    const text = await res.body.text();
    return { status, text, headers: res.headers };
  } catch (error) {
    return { error: error as Error & { code?: string } };
  }
}

describe("faults that answer with an error", () => {
  it("rate_limit: 429 RATE_LIMITED with Retry-After and RateLimit headers (remaining 0)", async () => {
    sim.addFault({ kind: "rate_limit", times: 1, retryAfterSeconds: 7 });
    const answer = await getJob();
    expect(answer.status).toBe(429);
    expect(json(answer)).toMatchObject({
      error: 429,
      errorCode: "RATE_LIMITED",
      reason: "Too Many Requests",
    });
    expect(answer.headers["retry-after"]).toBe("7");
    expect(answer.headers["ratelimit-limit"]).toBe("1000000000");
    expect(answer.headers["ratelimit-remaining"]).toBe("0");
    expect((await getJob()).status).toBe(200);
  });

  it("rate_limit without RateLimit headers nor Retry-After", async () => {
    sim.addFault({ kind: "rate_limit", times: 1, rateLimitHeaders: false });
    const answer = await getJob();
    expect(answer.status).toBe(429);
    expect(answer.headers["retry-after"]).toBeUndefined();
    expect(answer.headers["ratelimit-limit"]).toBeUndefined();
    expect(answer.headers["ratelimit-remaining"]).toBeUndefined();
  });

  it.each([
    [{ kind: "server_error" }, 500, "UNEXPECTED_ERROR"],
    [{ kind: "unavailable", retryAfterSeconds: 3 }, 503, "SERVICE_UNAVAILABLE"],
    [{ kind: "not_found" }, 404, "CLUSTER_NOT_FOUND"],
    [{ kind: "gone" }, 410, "VERSION_GONE"],
    [{ kind: "unauthorized" }, 401, "UNEXPECTED_ERROR"],
    [{ kind: "forbidden" }, 403, "IP_ADDRESS_NOT_ON_ACCESS_LIST"],
  ] as [Fault, number, string][])("%o answers %i %s", async (fault, status, errorCode) => {
    sim.addFault({ ...fault, times: 1 });
    const answer = await getJob();
    expect(answer.status).toBe(status);
    expect(json(answer)["errorCode"]).toBe(errorCode);
    expect(answer.headers["x-error-code"]).toBe(errorCode);
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.headers["ratelimit-remaining"]).toBe("999999999");
    expect(answer.headers["retry-after"]).toBe(fault.kind === "unavailable" ? "3" : undefined);
    if (fault.kind === "unauthorized") {
      expect(answer.headers["www-authenticate"]).toMatch(
        /^Digest realm="MMS Public API", domain="", nonce="[^"]+", algorithm=MD5, qop="auth", stale=false$/,
      );
    }
  });
});

describe("a fault's own detail text", () => {
  it.each(["rate_limit", "server_error", "unavailable", "not_found"] as const)(
    "%s answers with the given detail",
    async (kind) => {
      sim.addFault({ kind, times: 1, detail: "<b>Cluster</b> is on fire" });
      const answer = await getJob();
      expect(json(answer)["detail"]).toBe("<b>Cluster</b> is on fire");
    },
  );
});

describe("faults that answer 200 with a bad body", () => {
  it("malformed_json: the right content type and truncated JSON", async () => {
    sim.addFault({ kind: "malformed_json", times: 1 });
    const answer = await getJob();
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe(
      "application/vnd.atlas.2023-01-01+json;charset=utf-8",
    );
    expect(answer.text.startsWith('{"clusterName":"Cluster0"')).toBe(true);
    expect(() => JSON.parse(answer.text)).toThrow(SyntaxError);
  });

  it("wrong_content_type: an HTML page", async () => {
    sim.addFault({ kind: "wrong_content_type", times: 1 });
    const answer = await getJob();
    expect([answer.status, answer.headers["content-type"]]).toEqual([
      200,
      "text/html; charset=utf-8",
    ]);
    expect(answer.text).toContain("<html>");
  });

  it("wrong_id: a valid job whose id is another job's", async () => {
    sim.addFault({ kind: "wrong_id", times: 1 });
    const body = json(await getJob());
    expect(body["id"]).toBe(JOB2);
    expect(body["clusterName"]).toBe("Cluster0");
    expect(body["status"]).toBe("PENDING");
  });

  it("invalid_body: JSON that is not a restore job (an object on GET, an array on LIST)", async () => {
    sim.addFault({ kind: "invalid_body", times: 2 });
    expect((await getJob()).text).toBe('{"unexpected":true}');
    const list = await apiGet(
      jobUrl(sim, "tenant", { groupId: GROUP, clusterName: "Cluster0" }),
      "tenant",
      token,
    );
    expect([list.status, list.text]).toEqual([200, '[{"unexpected":true}]']);
  });

  it("huge_body: exactly sizeBytes of valid JSON", async () => {
    sim.addFault({ kind: "huge_body", times: 1, sizeBytes: 300_000 });
    const answer = await getJob();
    expect(answer.headers["content-length"]).toBe("300000");
    expect(Buffer.byteLength(answer.text)).toBe(300_000);
    const body = json(answer);
    expect(body["id"]).toBe(JOB);
    expect(String(body["padding"]).length).toBeGreaterThan(290_000);
  });

  it("huge_body: 32 MiB by default, which a client with a size limit refuses", async () => {
    sim.addFault({ kind: "huge_body", times: 1 });
    const limited = new Agent({ maxResponseSize: 1024 * 1024 });
    const result = await outcome(limited);
    await limited.close();
    expect(result.error).toBeInstanceOf(errors.ResponseExceededMaxSizeError);
    sim.addFault({ kind: "huge_body", times: 1 });
    const res = await request(jobUrl(sim, "tenant", TENANT_REF), {
      headers: headers(),
      dispatcher: agent,
    });
    expect([res.statusCode, res.headers["content-length"]]).toEqual([
      200,
      String(32 * 1024 * 1024),
    ]);
    res.body.destroy();
  });
});

describe("faults that break the connection or the timing", () => {
  it("reset: the connection is destroyed without an answer (ECONNRESET)", async () => {
    sim.addFault({ kind: "reset", times: 1 });
    const result = await outcome(agent);
    expect(result.error?.code).toBe("ECONNRESET");
    expect(sim.stats().byStatus).toEqual({ "200": 1, reset: 1 });
    expect((await outcome(agent)).status).toBe(200);
  });

  it("lying_length: a Content-Length larger than the body, then the connection closes", async () => {
    sim.addFault({ kind: "lying_length", times: 1 });
    const res = await request(jobUrl(sim, "tenant", TENANT_REF), {
      headers: headers(),
      dispatcher: agent,
    });
    expect(res.statusCode).toBe(200);
    const announced = Number(res.headers["content-length"]);
    await expect(res.body.text()).rejects.toMatchObject({ code: "UND_ERR_SOCKET" });
    expect(announced).toBeGreaterThan(1024);
  });

  it("slow_headers: answers normally after delayMs", async () => {
    sim.addFault({ kind: "slow_headers", times: 1, delayMs: 80 });
    const started = performance.now();
    const answer = await getJob();
    expect(performance.now() - started).toBeGreaterThanOrEqual(70);
    expect([answer.status, json(answer)["id"]]).toEqual([200, JOB]);
  });

  it("slow_headers without delayMs: the client's headers timeout fires", async () => {
    sim.addFault({ kind: "slow_headers", times: 1 });
    const impatient = new Agent({ headersTimeout: 100 });
    const result = await outcome(impatient);
    await impatient.close();
    expect(result.error).toBeInstanceOf(errors.HeadersTimeoutError);
  });

  it("slow_body: headers and half the body, then the rest after delayMs", async () => {
    sim.addFault({ kind: "slow_body", times: 1, delayMs: 60 });
    const answer = await getJob();
    expect([answer.status, json(answer)["id"]]).toEqual([200, JOB]);
  });

  it("slow_body without delayMs: the client's body timeout fires after a 200", async () => {
    sim.addFault({ kind: "slow_body", times: 1 });
    const impatient = new Agent({ bodyTimeout: 100 });
    const res = await request(jobUrl(sim, "tenant", TENANT_REF), {
      headers: headers(),
      dispatcher: impatient,
    });
    expect(res.statusCode).toBe(200);
    await expect(res.body.text()).rejects.toBeInstanceOf(errors.BodyTimeoutError);
    await impatient.close();
  });

  it("close() ends a stalled answer at once", async () => {
    sim.addFault({ kind: "slow_body" });
    const res = await request(jobUrl(sim, "tenant", TENANT_REF), {
      headers: headers(),
      dispatcher: agent,
    });
    const reading = res.body.text();
    const started = performance.now();
    await sim.close();
    await expect(reading).rejects.toMatchObject({ code: "UND_ERR_SOCKET" });
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("which requests a fault meets", () => {
  it("matches on the given fields only, and is used up after `times`", async () => {
    sim.addFault({ kind: "server_error", times: 2, match: { api: "tenant", restoreId: JOB2 } });
    sim.advance(20);
    const job2 = jobUrl(sim, "tenant", { ...TENANT_REF, restoreId: JOB2 });
    const statuses = [
      (await getJob()).status,
      (await apiGet(jobUrl(sim, "flex", FLEX_REF), "flex", token)).status,
      (await apiGet(job2, "tenant", token)).status,
      (await apiGet(job2, "tenant", token)).status,
      (await apiGet(job2, "tenant", token)).status,
    ];
    expect(statuses).toEqual([200, 200, 500, 500, 200]);
  });

  it("applies only inside its afterSeconds/untilSeconds window", async () => {
    sim.addFault({ kind: "not_found", afterSeconds: 10, untilSeconds: 20 });
    const statuses = [];
    for (const step of [0, 10, 9.9, 0.1]) {
      sim.advance(step);
      statuses.push((await getJob()).status);
    }
    expect(statuses).toEqual([200, 404, 404, 200]);
  });

  it("lasts until cleared without `times`, and the first added wins", async () => {
    sim.addFault({ kind: "gone", match: { groupId: GROUP } });
    sim.addFault({ kind: "server_error" });
    expect([(await getJob()).status, (await getJob()).status]).toEqual([410, 410]);
    sim.clearFaults();
    expect((await getJob()).status).toBe(200);
  });

  it("applies after authentication: an unauthenticated request gets 401 and leaves the fault", async () => {
    sim.addFault({ kind: "server_error", times: 1 });
    const anonymous = await send(jobUrl(sim, "tenant", TENANT_REF), {
      headers: { accept: MEDIA_TYPES.tenant },
    });
    expect(anonymous.status).toBe(401);
    expect((await getJob()).status).toBe(500);
  });

  it("starts with the scenario's faults, counted in the stats", async () => {
    await sim.close();
    sim = await start(
      baseScenario({ faults: [{ kind: "rate_limit", times: 1, match: { restoreId: JOB } }] }),
    );
    token = await fetchToken(sim);
    expect([(await getJob()).status, (await getJob()).status]).toEqual([429, 200]);
    expect(sim.stats().byStatus).toEqual({ "200": 2, "429": 1 });
  });

  it("reaches the token endpoint only with match.api token", async () => {
    sim.addFault({ kind: "server_error" });
    expect(await fetchToken(sim)).toMatch(/^[\w-]{20,}$/);
    sim.clearFaults();
    const tokenRequest = {
      method: "POST" as const,
      headers: {
        authorization: `Basic ${Buffer.from(`${SERVICE_ACCOUNT.clientId}:${SERVICE_ACCOUNT.clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials",
      dispatcher: agent,
    };
    const url = `${sim.url}${TOKEN_PATH}`;
    sim.addFault({ kind: "server_error", times: 1, match: { api: "token" } });
    sim.addFault({ kind: "rate_limit", times: 1, retryAfterSeconds: 30, match: { api: "token" } });
    sim.addFault({ kind: "reset", times: 1, match: { api: "token" } });
    sim.addFault({ kind: "slow_headers", times: 1, delayMs: 20, match: { api: "token" } });
    const first = await send(url, tokenRequest);
    const second = await send(url, tokenRequest);
    await expect(send(url, tokenRequest)).rejects.toMatchObject({ code: "ECONNRESET" });
    const fourth = await send(url, tokenRequest);
    expect([first.status, second.status, second.headers["retry-after"], fourth.status]).toEqual([
      500,
      429,
      "30",
      200,
    ]);
    expect(json(fourth)["token_type"]).toBe("Bearer");
    expect((await getJob()).status).toBe(200);
  });

  it("rejects an invalid fault, naming the key", () => {
    expect(() => sim.addFault({ kind: "explode" } as unknown as Fault)).toThrow(
      /kind: Invalid option/,
    );
    expect(() => sim.addFault({ kind: "reset", times: 0 })).toThrow(/times: .*\(got 0\)/);
  });
});
