import { afterEach, describe, expect, it } from "vitest";
import { MEDIA_TYPES } from "../../src/atlas/endpoints.js";
import type { Simulator } from "../../src/simulator/index.js";
import {
  FLEX_REF,
  GROUP,
  OTHER_GROUP,
  TENANT_REF,
  apiGet,
  baseScenario,
  fetchToken,
  jobUrl,
  json,
  send,
  start,
} from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

describe("the versioned Accept header", () => {
  it("must name the family's media type, else 406", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    const tenant = jobUrl(sim, "tenant", TENANT_REF);
    const flex = jobUrl(sim, "flex", FLEX_REF);
    const get = async (url: string, accept: string | undefined) => {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (accept !== undefined) headers["accept"] = accept;
      return (await send(url, { headers })).status;
    };
    expect([
      await get(tenant, MEDIA_TYPES.tenant),
      await get(tenant, `application/json, ${MEDIA_TYPES.tenant};q=0.9`),
      await get(tenant, `${MEDIA_TYPES.tenant};charset=utf-8`),
      await get(flex, MEDIA_TYPES.flex),
      await get(tenant, MEDIA_TYPES.flex),
      await get(flex, MEDIA_TYPES.tenant),
      await get(tenant, "application/json"),
      await get(tenant, "*/*"),
      await get(tenant, undefined),
      await get(tenant, "application/vnd.atlas.2023-02-01+json"),
    ]).toEqual([200, 200, 200, 200, 406, 406, 406, 406, 406, 406]);
    const refused = await apiGet(tenant, "flex", token);
    expect(json(refused)).toMatchObject({
      error: 406,
      errorCode: "INVALID_VERSION_DATE",
      reason: "Not Acceptable",
    });
    expect(refused.headers["x-error-code"]).toBe("INVALID_VERSION_DATE");
  });
});

describe("the rate limit", () => {
  it("keeps a bucket per (group, family), refilled on simulator time, with headers on every answer", async () => {
    sim = await start(baseScenario({ rateLimit: { capacity: 3, refillPerMinute: 60 } }));
    const token = await fetchToken(sim);
    const url = jobUrl(sim, "tenant", TENANT_REF);
    const seen: [number, unknown, unknown, unknown][] = [];
    const probe = async (target = url, api: "tenant" | "flex" = "tenant") => {
      const a = await apiGet(target, api, token);
      seen.push([
        a.status,
        a.headers["ratelimit-limit"],
        a.headers["ratelimit-remaining"],
        a.headers["retry-after"],
      ]);
      return a;
    };
    await probe();
    await probe();
    await probe(jobUrl(sim, "tenant", { ...TENANT_REF, restoreId: "bbbbbbbbbbbbbbbbbbbbbbbb" }));
    const limited = await probe();
    await probe(jobUrl(sim, "flex", FLEX_REF), "flex");
    await probe(jobUrl(sim, "tenant", { ...TENANT_REF, groupId: OTHER_GROUP }));
    sim.advance(1);
    await probe();
    expect(seen).toEqual([
      [200, "3", "2", undefined],
      [200, "3", "1", undefined],
      [404, "3", "0", undefined],
      [429, "3", "0", "1"],
      [200, "3", "2", undefined],
      [404, "3", "2", undefined],
      [200, "3", "0", undefined],
    ]);
    expect(json(limited)).toMatchObject({ error: 429, errorCode: "RATE_LIMITED" });
  });

  it("says in Retry-After how many whole seconds until one token is back", async () => {
    sim = await start(baseScenario({ rateLimit: { capacity: 1, refillPerMinute: 6 } }));
    const token = await fetchToken(sim);
    const url = jobUrl(sim, "flex", FLEX_REF);
    expect((await apiGet(url, "flex", token)).status).toBe(200);
    expect((await apiGet(url, "flex", token)).headers["retry-after"]).toBe("10");
    sim.advance(4.5);
    expect((await apiGet(url, "flex", token)).headers["retry-after"]).toBe("6");
    sim.advance(5.5);
    expect((await apiGet(url, "flex", token)).status).toBe(200);
  });

  it("shows the bucket on 401s without taking from it", async () => {
    sim = await start(baseScenario({ rateLimit: { capacity: 5, refillPerMinute: 0 } }));
    const url = jobUrl(sim, "tenant", { groupId: GROUP, clusterName: "Cluster0" });
    for (let i = 0; i < 3; i++) {
      const anonymous = await send(url, { headers: { accept: MEDIA_TYPES.tenant } });
      expect([anonymous.status, anonymous.headers["ratelimit-remaining"]]).toEqual([401, "5"]);
    }
    const token = await fetchToken(sim);
    expect((await apiGet(url, "tenant", token)).headers["ratelimit-remaining"]).toBe("4");
  });
});
