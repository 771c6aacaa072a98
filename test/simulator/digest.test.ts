import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import {
  formatDigestAuthorization,
  formatNonceCount,
  parseDigestChallenge,
  type DigestAlgorithm,
} from "../../src/atlas/digest.js";
import { MEDIA_TYPES, restoreJobPath } from "../../src/atlas/endpoints.js";
import type { Simulator } from "../../src/simulator/index.js";
import {
  API_KEY,
  JOB,
  TENANT_REF,
  baseScenario,
  json,
  send,
  start,
  type Answer,
} from "./helpers.js";

const run = promisify(execFile);

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const PATH = restoreJobPath("tenant", TENANT_REF);

function current(): Simulator {
  if (!sim) throw new Error("no simulator");
  return sim;
}

/** An unauthenticated GET: the 401 and its challenge. */
async function challenge(path = PATH) {
  const answer = await send(`${current().url}${path}`, { headers: { accept: MEDIA_TYPES.tenant } });
  const parsed = parseDigestChallenge(answer.headers["www-authenticate"]);
  if (!parsed) throw new Error(`no digest challenge in ${JSON.stringify(answer.headers)}`);
  return { answer, challenge: parsed };
}

/** A GET signed with `nonce` and count `nc`. */
function signedGet(
  nonce: string,
  nc: number,
  options: {
    path?: string;
    signedUri?: string;
    password?: string;
    username?: string;
    algorithm?: DigestAlgorithm;
  } = {},
): Promise<Answer> {
  const path = options.path ?? PATH;
  const authorization = formatDigestAuthorization({
    algorithm: options.algorithm ?? "MD5",
    username: options.username ?? API_KEY.publicKey,
    password: options.password ?? API_KEY.privateKey,
    realm: "MMS Public API",
    method: "GET",
    uri: options.signedUri ?? path,
    nonce,
    nc: formatNonceCount(nc),
    cnonce: randomBytes(8).toString("hex"),
    qop: "auth",
  });
  return send(`${current().url}${path}`, {
    headers: { accept: MEDIA_TYPES.tenant, authorization },
  });
}

describe("the digest challenge", () => {
  it("is Atlas's, with a fresh nonce each time, and Atlas's 401 body", async () => {
    sim = await start();
    const first = await challenge();
    const second = await challenge();
    expect(first.answer.status).toBe(401);
    expect(first.answer.headers["www-authenticate"]).toMatch(
      /^Digest realm="MMS Public API", domain="", nonce="[A-Za-z0-9+/=]+", algorithm=MD5, qop="auth", stale=false$/,
    );
    expect(first.challenge.nonce).not.toBe(second.challenge.nonce);
    expect(json(first.answer)).toEqual({
      error: 401,
      reason: "Unauthorized",
      detail: "You are not authorized for this resource.",
      errorCode: "UNEXPECTED_ERROR",
      parameters: [],
    });
    expect(first.answer.headers["x-error-code"]).toBe("UNEXPECTED_ERROR");
  });
});

describe("digest credentials", () => {
  it("accepts correct ones, and the same nonce again with increasing nc (one round trip each)", async () => {
    sim = await start();
    const { challenge: c } = await challenge();
    const statuses = [];
    for (const nc of [1, 2, 3]) statuses.push((await signedGet(c.nonce, nc)).status);
    expect(statuses).toEqual([200, 200, 200]);
    const body = json(await signedGet(c.nonce, 4));
    expect(body["id"]).toBe(JOB);
    expect(current().stats().byStatus).toEqual({ "200": 4, "401": 1 });
  });

  it("refuses a wrong private key, an unknown user, a wrong uri and a nonce it never issued", async () => {
    sim = await start();
    const { challenge: c } = await challenge();
    const refused = [
      await signedGet(c.nonce, 1, { password: "wrong" }),
      await signedGet(c.nonce, 2, { username: "zzzzzzzz" }),
      await signedGet(c.nonce, 3, { signedUri: `${PATH}?pretty=true` }),
      await signedGet(Buffer.alloc(28, 7).toString("base64"), 1),
      await signedGet(c.nonce, 4, { algorithm: "SHA-256" }),
    ];
    for (const answer of refused) {
      expect(answer.status).toBe(401);
      expect(parseDigestChallenge(answer.headers["www-authenticate"])?.stale).toBe(false);
    }
    expect((await signedGet(c.nonce, 5)).status).toBe(200);
  });

  it("signs the query too: uri is the whole request target", async () => {
    sim = await start();
    const { challenge: c } = await challenge();
    const path = `${PATH}?pretty=false`;
    expect((await signedGet(c.nonce, 1, { path })).status).toBe(200);
  });

  it("refuses a replayed (nonce, nc)", async () => {
    sim = await start();
    const { challenge: c } = await challenge();
    expect((await signedGet(c.nonce, 1)).status).toBe(200);
    const replay = await signedGet(c.nonce, 1);
    expect(replay.status).toBe(401);
    expect((await signedGet(c.nonce, 2)).status).toBe(200);
  });

  it("accepts counts out of order from concurrent requests, each once", async () => {
    sim = await start();
    const { challenge: c } = await challenge();
    const order = [5, 2, 4, 1, 3];
    const answers = await Promise.all(order.map((nc) => signedGet(c.nonce, nc)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const again = await Promise.all([4, 1, 6].map((nc) => signedGet(c.nonce, nc)));
    expect(again.map((a) => a.status)).toEqual([401, 401, 200]);
  });

  it("answers stale=true with a fresh nonce once expireNonces() expired the nonce", async () => {
    sim = await start();
    const { challenge: c } = await challenge();
    expect((await signedGet(c.nonce, 1)).status).toBe(200);
    current().expireNonces();
    const stale = await signedGet(c.nonce, 2);
    const renewed = parseDigestChallenge(stale.headers["www-authenticate"]);
    expect(stale.status).toBe(401);
    expect(renewed?.stale).toBe(true);
    expect(renewed?.nonce).not.toBe(c.nonce);
    // Wrong credentials with the expired nonce are not "stale": they are wrong.
    const wrong = await signedGet(c.nonce, 3, { password: "wrong" });
    expect(parseDigestChallenge(wrong.headers["www-authenticate"])?.stale).toBe(false);
    expect((await signedGet(renewed?.nonce ?? "", 1)).status).toBe(200);
  });

  it("expires nonces after digest.nonceTtlSeconds of simulator time", async () => {
    sim = await start(baseScenario({ digest: { nonceTtlSeconds: 60 } }));
    const { challenge: c } = await challenge();
    current().advance(60);
    expect((await signedGet(c.nonce, 1)).status).toBe(200);
    current().advance(1);
    const stale = await signedGet(c.nonce, 2);
    expect([stale.status, parseDigestChallenge(stale.headers["www-authenticate"])?.stale]).toEqual([
      401,
      true,
    ]);
  });

  it("offers and verifies SHA-256 when the scenario says so", async () => {
    sim = await start(baseScenario({ digest: { algorithm: "SHA-256" } }));
    const { answer, challenge: c } = await challenge();
    expect(answer.headers["www-authenticate"]).toContain("algorithm=SHA-256");
    expect((await signedGet(c.nonce, 1, { algorithm: "SHA-256" })).status).toBe(200);
    expect((await signedGet(c.nonce, 2, { algorithm: "MD5" })).status).toBe(401);
  });
});

describe("curl --digest against the simulator", () => {
  async function curl(url: string, user: string, extra: string[] = []): Promise<[string, string]> {
    const { stdout } = await run("/usr/bin/curl", [
      "--silent",
      "--digest",
      "--user",
      user,
      "--header",
      `Accept: ${MEDIA_TYPES.tenant}`,
      "--write-out",
      "\n%{http_code}",
      ...extra,
      url,
    ]);
    const cut = stdout.lastIndexOf("\n");
    return [stdout.slice(cut + 1), stdout.slice(0, cut)];
  }

  it("gets 200 with the right key and 401 with a wrong one (MD5)", async () => {
    sim = await start();
    const url = `${current().url}${PATH}?pretty=true`;
    const [status, body] = await curl(url, `${API_KEY.publicKey}:${API_KEY.privateKey}`);
    expect(status).toBe("200");
    expect((JSON.parse(body) as { id: string }).id).toBe(JOB);
    const [refused] = await curl(url, `${API_KEY.publicKey}:00000000-0000-0000-0000-000000000000`);
    expect(refused).toBe("401");
  });

  it("gets 200 with SHA-256", async () => {
    sim = await start(baseScenario({ digest: { algorithm: "SHA-256" } }));
    const [status] = await curl(
      `${current().url}${PATH}`,
      `${API_KEY.publicKey}:${API_KEY.privateKey}`,
    );
    expect(status).toBe("200");
  });
});
