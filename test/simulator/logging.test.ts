import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { MEDIA_TYPES } from "../../src/atlas/endpoints.js";
import { parseScenario, startSimulator } from "../../src/simulator/index.js";
import {
  API_KEY,
  SERVICE_ACCOUNT,
  T0,
  TENANT_REF,
  apiGet,
  baseScenario,
  fetchToken,
  jobUrl,
  send,
} from "./helpers.js";

describe("the simulator's request log", () => {
  it("logs method, path and status at debug level, and never a credential or token", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().trim().split("\n"));
        done();
      },
    });
    const logger = pino({ level: "debug" }, sink);
    const sim = await startSimulator({
      scenario: parseScenario(baseScenario()),
      clock: "manual",
      startTime: T0,
      logger,
    });
    try {
      const token = await fetchToken(sim);
      const url = jobUrl(sim, "tenant", TENANT_REF);
      const answer = await apiGet(`${url}?pretty=true`, "tenant", token);
      expect(answer.headers["date"]).toBe("Sun, 01 Jun 2025 12:00:00 GMT");
      await send(url, { headers: { accept: MEDIA_TYPES.tenant } });
    } finally {
      await sim.close();
    }
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.map((e) => [e["level"], e["msg"], e["method"], e["status"]])).toEqual([
      [20, "simulator request", "POST", 200],
      [20, "simulator request", "GET", 200],
      [20, "simulator request", "GET", 401],
    ]);
    expect(entries[1]?.["path"]).toBe(new URL(jobUrl(sim, "tenant", TENANT_REF)).pathname);
    const text = lines.join("\n");
    for (const secret of [
      SERVICE_ACCOUNT.clientSecret,
      API_KEY.privateKey,
      sim.stats().issuedTokens[0] ?? "?",
    ]) {
      expect(text).not.toContain(secret);
    }
  });
});
