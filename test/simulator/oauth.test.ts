import { afterEach, describe, expect, it } from "vitest";
import { REVOKE_PATH, TOKEN_PATH } from "../../src/atlas/endpoints.js";
import type { Simulator } from "../../src/simulator/index.js";
import {
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

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

function current(): Simulator {
  if (!sim) throw new Error("no simulator");
  return sim;
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
}

const FORM = "application/x-www-form-urlencoded";

function post(path: string, body: string, headers: Record<string, string>) {
  return send(`${current().url}${path}`, { method: "POST", headers, body });
}

function tokenRequest(
  body = "grant_type=client_credentials",
  headers: Record<string, string> = {
    authorization: basic(SERVICE_ACCOUNT.clientId, SERVICE_ACCOUNT.clientSecret),
    "content-type": FORM,
  },
) {
  return post(TOKEN_PATH, body, headers);
}

async function jobStatus(token: string): Promise<number> {
  return (await apiGet(jobUrl(current(), "tenant", TENANT_REF), "tenant", token)).status;
}

describe("the token endpoint", () => {
  it("issues an opaque bearer token with the scenario's TTL", async () => {
    sim = await start(baseScenario({ tokenTtlSeconds: 900 }));
    const answer = await tokenRequest();
    expect(answer.status).toBe(200);
    expect(answer.headers["content-type"]).toBe("application/json;charset=UTF-8");
    expect(answer.headers["cache-control"]).toBe("no-store");
    const body = json(answer);
    expect(Object.keys(body).sort()).toEqual(["access_token", "expires_in", "token_type"]);
    expect([body["expires_in"], body["token_type"]]).toEqual([900, "Bearer"]);
    const token = String(body["access_token"]);
    expect(token).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    expect(await jobStatus(token)).toBe(200);
    expect(current().stats()).toMatchObject({ tokenRequests: 1, issuedTokens: [token] });
  });

  it("refuses a wrong secret, an unknown client and a missing Basic header with invalid_client", async () => {
    sim = await start();
    const answers = [
      await tokenRequest(undefined, {
        authorization: basic(SERVICE_ACCOUNT.clientId, "wrong"),
        "content-type": FORM,
      }),
      await tokenRequest(undefined, {
        authorization: basic("mdb_sa_id_other", "x"),
        "content-type": FORM,
      }),
      await tokenRequest(undefined, { "content-type": FORM }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(json(answer)["error"]).toBe("invalid_client");
      expect(typeof json(answer)["error_description"]).toBe("string");
    }
    expect(current().stats().issuedTokens).toEqual([]);
  });

  it("refuses malformed requests with invalid_request or unsupported_grant_type", async () => {
    sim = await start();
    const auth = basic(SERVICE_ACCOUNT.clientId, SERVICE_ACCOUNT.clientSecret);
    const cases: [string, Record<string, string>, number, string][] = [
      [
        "grant_type=client_credentials",
        { authorization: auth, "content-type": "application/json" },
        400,
        "invalid_request",
      ],
      ["scope=x", { authorization: auth, "content-type": FORM }, 400, "invalid_request"],
      [
        "grant_type=password",
        { authorization: auth, "content-type": FORM },
        400,
        "unsupported_grant_type",
      ],
    ];
    for (const [body, headers, status, error] of cases) {
      const answer = await tokenRequest(body, headers);
      expect([answer.status, json(answer)["error"]]).toEqual([status, error]);
    }
    const get = await send(`${current().url}${TOKEN_PATH}`);
    expect([get.status, get.headers["allow"]]).toEqual([405, "POST"]);
  });

  it("allows 10 token requests a minute per client, then 429 with Retry-After", async () => {
    sim = await start();
    const statuses = [];
    for (let i = 0; i < 10; i++) {
      statuses.push((await tokenRequest()).status);
      current().advance(1);
    }
    const limited = await tokenRequest();
    expect(statuses).toEqual(Array(10).fill(200));
    expect(limited.status).toBe(429);
    expect(limited.headers["retry-after"]).toBe("50");
    current().advance(50);
    expect((await tokenRequest()).status).toBe(200);
    expect(current().stats().tokenRequests).toBe(12);
  });

  it("lets a client hold at most 100 live tokens, then answers 403 access_denied", async () => {
    sim = await start(baseScenario({ tokenTtlSeconds: 86_400 }));
    const statuses = new Map<number, number>();
    for (let i = 0; i < 101; i++) {
      const status = (await tokenRequest()).status;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      current().advance(6);
    }
    expect([...statuses]).toEqual([
      [200, 100],
      [403, 1],
    ]);
    const refused = await tokenRequest();
    expect([refused.status, json(refused)["error"]]).toEqual([403, "access_denied"]);
    current().revokeAllTokens();
    current().advance(6);
    expect((await tokenRequest()).status).toBe(200);
  });

  it("expires tokens after their TTL of simulator time", async () => {
    sim = await start(baseScenario({ tokenTtlSeconds: 60 }));
    const token = await fetchToken(current());
    current().advance(59.9);
    expect(await jobStatus(token)).toBe(200);
    current().advance(0.1);
    expect(await jobStatus(token)).toBe(401);
  });
});

describe("revocation", () => {
  it("revokes a token through the endpoint and records it", async () => {
    sim = await start();
    const token = await fetchToken(current());
    const keep = await fetchToken(current());
    const auth = basic(SERVICE_ACCOUNT.clientId, SERVICE_ACCOUNT.clientSecret);
    const answer = await post(REVOKE_PATH, `token=${token}&token_type_hint=access_token`, {
      authorization: auth,
      "content-type": FORM,
    });
    expect(answer.status).toBe(200);
    expect([await jobStatus(token), await jobStatus(keep)]).toEqual([401, 200]);
    expect(current().stats()).toMatchObject({ revokeRequests: 1, revokedTokens: [token] });
  });

  it("needs the client's credentials, and answers 200 for an unknown token (RFC 7009)", async () => {
    sim = await start();
    const token = await fetchToken(current());
    const wrong = await post(REVOKE_PATH, `token=${token}`, {
      authorization: basic(SERVICE_ACCOUNT.clientId, "wrong"),
      "content-type": FORM,
    });
    expect([wrong.status, json(wrong)["error"]]).toEqual([401, "invalid_client"]);
    expect(await jobStatus(token)).toBe(200);
    const unknown = await post(REVOKE_PATH, "token=nope", {
      authorization: basic(SERVICE_ACCOUNT.clientId, SERVICE_ACCOUNT.clientSecret),
      "content-type": FORM,
    });
    expect(unknown.status).toBe(200);
    expect(current().stats().revokedTokens).toEqual([]);
  });

  it("revokeAllTokens() invalidates every token issued so far, not later ones", async () => {
    sim = await start();
    const first = await fetchToken(current());
    const second = await fetchToken(current());
    current().revokeAllTokens();
    const third = await fetchToken(current());
    expect([await jobStatus(first), await jobStatus(second), await jobStatus(third)]).toEqual([
      401, 401, 200,
    ]);
  });
});
