import { afterEach, describe, expect, it } from "vitest";
import { MEDIA_TYPES } from "../../src/atlas/endpoints.js";
import type { Simulator } from "../../src/simulator/index.js";
import { T0, TENANT_REF, apiGet, fetchToken, jobUrl, json, send, start } from "./helpers.js";

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function control(path: string, method: "GET" | "POST" | "DELETE" = "POST", body?: unknown) {
  if (!sim) throw new Error("no simulator");
  return send(`${sim.url}/_sim/${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

describe("the control API", () => {
  it("reads and advances the clock", async () => {
    sim = await start();
    expect(json(await control("now", "GET"))).toEqual({ now: T0, iso: "2025-06-01T12:00:00Z" });
    const advanced = await control("advance", "POST", { seconds: 90 });
    expect(json(advanced)).toEqual({ now: T0 + 90_000, iso: "2025-06-01T12:01:30Z" });
    expect(sim.now()).toBe(T0 + 90_000);
    const bad = await control("advance", "POST", { seconds: -1 });
    expect([bad.status, json(bad)["error"]]).toEqual([
      400,
      "seconds: must be a number >= 0 (got -1)",
    ]);
  });

  it("adds and clears faults, refusing invalid ones with the bad key", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    const url = jobUrl(sim, "tenant", TENANT_REF);
    expect((await control("faults", "POST", { kind: "server_error", times: 1 })).status).toBe(200);
    expect((await apiGet(url, "tenant", token)).status).toBe(500);
    await control("faults", "POST", { kind: "gone" });
    expect((await apiGet(url, "tenant", token)).status).toBe(410);
    expect((await control("faults", "DELETE")).status).toBe(200);
    expect((await apiGet(url, "tenant", token)).status).toBe(200);
    const bad = await control("faults", "POST", { kind: "gone", times: "twice" });
    expect(bad.status).toBe(400);
    expect(json(bad)["error"]).toContain(
      'times: Invalid input: expected number, received string (got "twice")',
    );
    const notJson = await send(`${sim.url}/_sim/faults`, { method: "POST", body: "{" });
    expect(notJson.status).toBe(400);
  });

  it("revokes tokens, expires nonces and moves the tenant sunset", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    const url = jobUrl(sim, "tenant", TENANT_REF);
    await control("tenant-sunset", "POST", { date: "2025-06-01T12:00:00Z" });
    expect((await apiGet(url, "tenant", token)).status).toBe(410);
    await control("tenant-sunset", "POST", { date: null });
    expect((await apiGet(url, "tenant", token)).status).toBe(200);
    const bad = await control("tenant-sunset", "POST", { date: "soon" });
    expect(bad.status).toBe(400);
    expect((await control("revoke-tokens")).status).toBe(200);
    expect((await apiGet(url, "tenant", token)).status).toBe(401);
    expect((await control("expire-nonces")).status).toBe(200);
  });

  it("reports stats without counting its own requests", async () => {
    sim = await start();
    const token = await fetchToken(sim);
    await apiGet(jobUrl(sim, "tenant", TENANT_REF), "tenant", token);
    await send(jobUrl(sim, "tenant", TENANT_REF), { headers: { accept: MEDIA_TYPES.tenant } });
    await control("now", "GET");
    const stats = json(await control("stats", "GET"));
    expect(stats).toEqual({
      requests: 3,
      byRoute: { token: 1, "tenant.get": 2 },
      listsByCluster: {},
      byStatus: { "200": 2, "401": 1 },
      tokenRequests: 1,
      revokeRequests: 0,
      issuedTokens: [token],
      revokedTokens: [],
      // The one token issued, still live.
      liveTokens: 1,
    });
    sim.resetStats();
    expect(json(await control("stats", "GET"))["requests"]).toBe(0);
  });

  it("answers unknown control paths 404 and wrong methods 405", async () => {
    sim = await start();
    expect((await control("nope", "GET")).status).toBe(404);
    const wrong = await control("stats", "POST");
    expect([wrong.status, wrong.headers["allow"]]).toEqual([405, "GET"]);
  });
});
