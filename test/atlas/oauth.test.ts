import { once } from "node:events";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent, request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { createAuthenticator } from "../../src/atlas/auth.js";
import { parseDigestAuthorization } from "../../src/atlas/digest.js";
import {
  AtlasAuthError,
  AtlasDecodeError,
  AtlasHttpError,
  AtlasNetworkError,
} from "../../src/atlas/errors.js";
import { FRESH_TOKEN_MS, TokenSource, type TokenSourceOptions } from "../../src/atlas/oauth.js";
import { DEFAULT_TIMEOUTS } from "../../src/atlas/transport.js";

const CLIENT_ID = "mdb_sa_id_6650a1b2c3d4e5f6a7b8c9d0";
// ':', '+', '/', '=' and '%' would all change under URL-encoding.
const CLIENT_SECRET = "mdb_sa_sk_s3cr+t/=:x%41";
const BASIC = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64")}`;
const T0 = Date.parse("2026-01-10T12:00:00.000Z");

/** One request as the fake server saw it. */
interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: string;
}

const tokenReply = (n: number, expiresIn = 3600): Reply => ({
  status: 200,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ access_token: `tok-${n}`, expires_in: expiresIn, token_type: "Bearer" }),
});

/** A fake Atlas OAuth endpoint: records every request; `reply` decides each answer. */
async function startTokenServer(
  reply: (req: Recorded, tokenRequests: number) => Reply | Promise<Reply> = (_r, n) =>
    tokenReply(n),
) {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      const n = requests.filter((r) => r.url === "/api/oauth/token").length;
      void Promise.resolve(reply(recorded, n)).then((answer) => {
        res.writeHead(answer.status, answer.headers ?? {});
        res.end(answer.body);
      });
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    tokenRequests: () => requests.filter((r) => r.url === "/api/oauth/token").length,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A clock the test moves by hand. */
function manualClock(start = T0) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

async function setup(
  reply?: Parameters<typeof startTokenServer>[0],
  options: Partial<TokenSourceOptions> = {},
) {
  const server = await startTokenServer(reply);
  const agent = new Agent();
  cleanups.push(
    () => server.close(),
    () => agent.close(),
  );
  const clock = manualClock();
  const tokens = new TokenSource({
    baseUrl: server.url,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    dispatcher: agent,
    userAgent: "atlas-restore-watch/test",
    timeouts: DEFAULT_TIMEOUTS,
    now: clock.now,
    ...options,
  });
  return { server, agent, clock, tokens };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error("expected a rejection with an Error");
  return outcome;
}

/** Every message and stack in an error's cause chain. */
function errorText(error: Error): string {
  const parts: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    parts.push(e.message, e.stack ?? "", JSON.stringify(e));
  }
  return parts.join("\n");
}

describe("TokenSource", () => {
  it("asks for a token in exactly Atlas's format", async () => {
    const { server, tokens } = await setup();
    expect(await tokens.getToken()).toBe("tok-1");
    expect(server.requests).toHaveLength(1);
    const [req] = server.requests;
    expect(req).toMatchObject({
      method: "POST",
      url: "/api/oauth/token",
      body: "grant_type=client_credentials",
    });
    expect(req?.headers["authorization"]).toBe(BASIC);
    const encoded = (req?.headers["authorization"] ?? "").replace(/^Basic /, "");
    expect(Buffer.from(encoded, "base64").toString("utf8")).toBe(`${CLIENT_ID}:${CLIENT_SECRET}`);
    expect(req?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(req?.headers["accept"]).toBe("application/json");
    expect(req?.headers["user-agent"]).toBe("atlas-restore-watch/test");
  });

  it("serves the cached token to later calls", async () => {
    const { server, tokens } = await setup();
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push(await tokens.getToken());
    expect(got).toEqual(Array(5).fill("tok-1"));
    expect(server.tokenRequests()).toBe(1);
  });

  it("replaces the token refreshMarginMs before it expires", async () => {
    const { server, clock, tokens } = await setup();
    expect(await tokens.getToken()).toBe("tok-1");
    clock.advance(3600_000 - 60_000 - 1);
    expect(await tokens.getToken()).toBe("tok-1");
    clock.advance(1);
    expect(await tokens.getToken()).toBe("tok-2");
    expect(server.tokenRequests()).toBe(2);
  });

  it("honours a custom margin, and uses a short-lived token for half its life", async () => {
    const custom = await setup(undefined, { refreshMarginMs: 300_000 });
    await custom.tokens.getToken();
    custom.clock.advance(3300_000 - 1);
    expect(await custom.tokens.getToken()).toBe("tok-1");
    custom.clock.advance(1);
    expect(await custom.tokens.getToken()).toBe("tok-2");

    const short = await setup((_r, n) => tokenReply(n, 60));
    await short.tokens.getToken();
    short.clock.advance(29_999);
    expect(await short.tokens.getToken()).toBe("tok-1");
    short.clock.advance(1);
    expect(await short.tokens.getToken()).toBe("tok-2");
  });

  it("lets concurrent callers share one request", async () => {
    const { server, tokens } = await setup();
    const got = await Promise.all(Array.from({ length: 10 }, () => tokens.getToken()));
    expect(got).toEqual(Array(10).fill("tok-1"));
    expect(server.tokenRequests()).toBe(1);
  });

  it("fetches a new token after invalidate, but only for the token it holds", async () => {
    const { server, tokens } = await setup();
    await tokens.getToken();
    tokens.invalidate("some-older-token");
    expect(await tokens.getToken()).toBe("tok-1");
    tokens.invalidate("tok-1");
    expect(await tokens.getToken()).toBe("tok-2");
    expect(server.tokenRequests()).toBe(2);
  });

  it("lets an aborted caller go without cancelling the shared request", async () => {
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { server, tokens } = await setup(async (_r, n) => {
      await gate;
      return tokenReply(n);
    });
    const controller = new AbortController();
    const impatient = tokens.getToken(controller.signal);
    const patient = tokens.getToken();
    controller.abort(new Error("shutting down"));
    await expect(impatient).rejects.toThrow("shutting down");
    release?.();
    expect(await patient).toBe("tok-1");
    expect(server.tokenRequests()).toBe(1);
  });

  it("never sends more than 10 token requests in a sliding minute", async () => {
    const { server, clock, tokens } = await setup();
    tokens.invalidate(await tokens.getToken()); // one at T0
    clock.advance(30_000);
    for (let i = 0; i < 9; i++) {
      tokens.invalidate(await tokens.getToken()); // nine more at T0 + 30 s
    }
    expect(server.tokenRequests()).toBe(10);

    const refused = await rejection(tokens.getToken());
    expect(refused).toBeInstanceOf(AtlasAuthError);
    expect(refused.message).toBe(
      "get service account token /api/oauth/token: token request budget spent (10 per 60 s); " +
        "next request allowed in 30 s, at 2026-01-10T12:01:00.000Z",
    );
    expect(server.tokenRequests()).toBe(10);

    clock.advance(30_000); // T0 + 60 s: the first request left the window
    expect(await tokens.getToken()).toBe("tok-11");
    tokens.invalidate("tok-11");
    await expect(tokens.getToken()).rejects.toBeInstanceOf(AtlasAuthError);
    clock.advance(30_000); // T0 + 90 s: the nine left too
    expect(await tokens.getToken()).toBe("tok-12");
    expect(server.tokenRequests()).toBe(12);
  });

  it("counts failed requests against the budget too", async () => {
    const { server, clock, tokens } = await setup(() => ({ status: 500, body: "" }), {
      maxRequestsPerMinute: 3,
    });
    for (let i = 0; i < 3; i++) {
      await expect(tokens.getToken()).rejects.toBeInstanceOf(AtlasHttpError);
    }
    await expect(tokens.getToken()).rejects.toBeInstanceOf(AtlasAuthError);
    expect(server.tokenRequests()).toBe(3);
    clock.advance(60_000);
    await expect(tokens.getToken()).rejects.toBeInstanceOf(AtlasHttpError);
    expect(server.tokenRequests()).toBe(4);
  });

  it("sends no token request before a 429's Retry-After has passed", async () => {
    const { server, clock, tokens } = await setup((_r, n) =>
      n === 1
        ? {
            status: 429,
            headers: { "retry-after": "30", "content-type": "application/json" },
            body: JSON.stringify({ error: "rate_limited", error_description: "Slow down" }),
          }
        : tokenReply(n),
    );
    const first = await rejection(tokens.getToken());
    expect(first).toBeInstanceOf(AtlasHttpError);
    expect(first).toMatchObject({ status: 429, errorCode: "rate_limited", retryAfterMs: 30_000 });

    clock.advance(10_000);
    const meanwhile = await rejection(tokens.getToken());
    expect(meanwhile).toBeInstanceOf(AtlasHttpError);
    expect(meanwhile).toMatchObject({
      status: 429,
      errorCode: "rate_limited",
      retryAfterMs: 20_000,
    });
    clock.advance(19_999);
    await expect(tokens.getToken()).rejects.toMatchObject({ retryAfterMs: 1 });
    expect(server.tokenRequests()).toBe(1);

    clock.advance(1);
    expect(await tokens.getToken()).toBe("tok-2");
    expect(server.tokenRequests()).toBe(2);
  });

  it.each([
    {
      reply: { status: 401, body: '{"error":"invalid_client","error_description":"Bad client"}' },
      expected: { status: 401, errorCode: "invalid_client", detail: "Bad client" },
      message: "HTTP 401 invalid_client: Bad client",
    },
    {
      reply: { status: 403, body: '{"error":"access_denied","error_description":"Max tokens"}' },
      expected: { status: 403, errorCode: "access_denied", detail: "Max tokens" },
      message: "HTTP 403 access_denied: Max tokens",
    },
    {
      reply: {
        status: 400,
        body: '{"error":400,"errorCode":"INVALID_PARAMETER","detail":"No grant","reason":"Bad Request"}',
      },
      expected: {
        status: 400,
        errorCode: "INVALID_PARAMETER",
        detail: "No grant",
        reason: "Bad Request",
      },
      message: "HTTP 400 INVALID_PARAMETER: No grant",
    },
    {
      reply: { status: 502, body: "<html>bad gateway</html>" },
      expected: { status: 502, errorCode: undefined, detail: undefined },
      message: "HTTP 502",
    },
  ])("maps HTTP $reply.status to an AtlasHttpError", async ({ reply, expected, message }) => {
    const { tokens } = await setup(() => reply);
    const error = await rejection(tokens.getToken());
    expect(error).toBeInstanceOf(AtlasHttpError);
    expect(error).toMatchObject(expected);
    expect(error.message).toBe(`get service account token /api/oauth/token: ${message}`);
  });

  it.each([
    ["not json", ["the body is not a JSON object"]],
    ['["tok"]', ["the body is not a JSON object"]],
    ['{"expires_in":3600,"token_type":"Bearer"}', ["access_token is missing or empty"]],
    [
      '{"access_token":"t","expires_in":"3600","token_type":"Bearer"}',
      ["expires_in is not a positive number"],
    ],
    [
      '{"access_token":"t","expires_in":0,"token_type":"bearer"}',
      ["expires_in is not a positive number"],
    ],
    [
      '{"access_token":7,"expires_in":3600,"token_type":"mac"}',
      ["access_token is missing or empty", "token_type is not Bearer"],
    ],
  ])("rejects the 200 answer %s with an AtlasDecodeError", async (body, problems) => {
    const { tokens } = await setup(() => ({ status: 200, body }));
    const error = await rejection(tokens.getToken());
    expect(error).toBeInstanceOf(AtlasDecodeError);
    expect((error as AtlasDecodeError).problems).toEqual(problems);
  });

  it("revokes the cached token in Atlas's format, then fetches a new one", async () => {
    const { server, tokens } = await setup((req, n) =>
      req.url === "/api/oauth/revoke" ? { status: 200, body: "" } : tokenReply(n),
    );
    expect(await tokens.revoke()).toEqual({ status: "none" });
    expect(server.requests).toHaveLength(0);

    await tokens.getToken();
    expect(await tokens.revoke()).toEqual({ status: "revoked" });
    const revoke = server.requests[1];
    expect(revoke).toMatchObject({
      method: "POST",
      url: "/api/oauth/revoke",
      body: "token=tok-1&token_type_hint=access_token",
    });
    expect(revoke?.headers["authorization"]).toBe(BASIC);
    expect(revoke?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(await tokens.getToken()).toBe("tok-2");
  });

  it("reports a failed revocation instead of throwing", async () => {
    const refused = await setup((req, n) =>
      req.url === "/api/oauth/revoke"
        ? { status: 400, body: '{"error":"invalid_request"}' }
        : tokenReply(n),
    );
    await refused.tokens.getToken();
    const outcome = await refused.tokens.revoke();
    expect(outcome).toMatchObject({ status: "failed", error: { status: 400 } });

    const gone = await setup();
    await gone.tokens.getToken();
    await gone.server.close();
    const unreachable = await gone.tokens.revoke();
    expect(unreachable.status).toBe("failed");
    expect(unreachable.status === "failed" && unreachable.error).toBeInstanceOf(AtlasNetworkError);
  });

  it("keeps the secret, the Basic credential and tokens out of every error", async () => {
    // A server may echo what it was sent: the Basic credential to the token endpoint, the token
    // to the revocation endpoint.
    const echo = `${CLIENT_SECRET} ${BASIC}`;
    const echoWithToken = `${echo} tok-1`;
    const errors: Error[] = [];

    const echoing = await setup(() => ({
      status: 401,
      body: JSON.stringify({ error: echo, error_description: echo }),
    }));
    errors.push(await rejection(echoing.tokens.getToken()));

    const revoking = await setup((req, n) =>
      req.url === "/api/oauth/revoke"
        ? { status: 400, body: JSON.stringify({ error: echoWithToken, detail: echoWithToken }) }
        : tokenReply(n),
    );
    await revoking.tokens.getToken();
    const failed = await revoking.tokens.revoke();
    if (failed.status === "failed") errors.push(failed.error);

    const malformed = await setup(() => ({
      status: 200,
      body: JSON.stringify({ access_token: `tok-1 ${CLIENT_SECRET}`, expires_in: "x" }),
    }));
    errors.push(await rejection(malformed.tokens.getToken()));

    const budget = await setup(undefined, { maxRequestsPerMinute: 0 });
    errors.push(await rejection(budget.tokens.getToken()));

    expect(errors.map((e) => e.constructor.name)).toEqual([
      "AtlasHttpError",
      "AtlasHttpError",
      "AtlasDecodeError",
      "AtlasAuthError",
    ]);
    for (const error of errors) {
      const text = errorText(error);
      expect(text).not.toContain(CLIENT_SECRET);
      expect(text).not.toContain(BASIC.slice("Basic ".length));
      expect(text).not.toContain("tok-1");
    }
    expect(errors[0]?.message).toBe(
      "get service account token /api/oauth/token: HTTP 401 [redacted] [redacted]: " +
        "[redacted] [redacted]",
    );
    expect(errors[1]?.message).toBe(
      "revoke service account token /api/oauth/revoke: HTTP 400 " +
        "[redacted] [redacted] [redacted]: [redacted] [redacted] [redacted]",
    );
  });
});

describe("createAuthenticator", () => {
  /** A service account's authenticator against a token server that grants tok-1, tok-2 … */
  async function serviceAccountAuth() {
    const server = await startTokenServer((req, n) =>
      req.url === "/api/oauth/revoke" ? { status: 200, body: "" } : tokenReply(n),
    );
    const agent = new Agent();
    cleanups.push(
      () => server.close(),
      () => agent.close(),
    );
    const clock = manualClock();
    const auth = createAuthenticator(
      { kind: "serviceAccount", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      { agent, baseUrl: server.url, userAgent: "t", timeouts: DEFAULT_TIMEOUTS, now: clock.now },
    );
    return { server, agent, clock, auth };
  }

  it("authenticates a service account with a bearer token it renews after a 401 to an older token", async () => {
    const { server, agent, clock, auth } = await serviceAccountAuth();
    expect(auth.dispatcher).toBe(agent);
    const used = await auth.headers();
    expect(used).toEqual({ authorization: "Bearer tok-1" });
    // Fresh: the 401 is about the resource, not the token. No token is bought.
    expect(auth.unauthorized(used)).toBe(false);
    clock.advance(FRESH_TOKEN_MS);
    expect(auth.unauthorized(used)).toBe(true);
    // A request still in flight with the old token retries with the new one, at no cost.
    const second = await auth.headers();
    expect(second).toEqual({ authorization: "Bearer tok-2" });
    expect(auth.unauthorized(used)).toBe(true);
    expect(auth.unauthorized({})).toBe(false);

    await auth.close();
    expect(server.requests.map((r) => [r.url, r.body])).toEqual([
      ["/api/oauth/token", "grant_type=client_credentials"],
      ["/api/oauth/token", "grant_type=client_credentials"],
      ["/api/oauth/revoke", "token=tok-1&token_type_hint=access_token"],
      ["/api/oauth/revoke", "token=tok-2&token_type_hint=access_token"],
    ]);
  });

  it("hands out the same headers object at once while its token needs no refresh", async () => {
    const { server, clock, auth } = await serviceAccountAuth();
    // Before any token: a promise, and one token request.
    const pending = auth.headers();
    expect(pending).toBeInstanceOf(Promise);
    const first = await pending;
    expect(first).toEqual({ authorization: "Bearer tok-1" });
    // With the token at hand: the very same object, not a promise.
    expect(auth.headers()).toBe(first);
    expect(auth.headers()).toBe(first);
    // Under an aborted signal it does not hand out headers at once.
    const aborted = auth.headers(AbortSignal.abort(new Error("stop")));
    expect(aborted).toBeInstanceOf(Promise);
    await expect(aborted).rejects.toThrow("stop");
    // A replaced token gives a new object.
    clock.advance(FRESH_TOKEN_MS);
    expect(auth.unauthorized(first)).toBe(true);
    const second = await auth.headers();
    expect(second).toEqual({ authorization: "Bearer tok-2" });
    expect(second).not.toBe(first);
    expect(auth.headers()).toBe(second);
    expect(server.requests.filter((r) => r.url === "/api/oauth/token")).toHaveLength(2);
    await auth.close();
  });

  it("buys at most one token a minute for 401s, revokes each one it drops, and never holds more than two", async () => {
    const live = new Set<string>();
    const server = await startTokenServer((req, n) => {
      if (req.url === "/api/oauth/revoke") {
        live.delete(new URLSearchParams(req.body).get("token") ?? "");
        return { status: 200, body: "" };
      }
      live.add(`tok-${n}`);
      return tokenReply(n);
    });
    const agent = new Agent();
    cleanups.push(
      () => server.close(),
      () => agent.close(),
    );
    const clock = manualClock();
    const auth = createAuthenticator(
      { kind: "serviceAccount", clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      { agent, baseUrl: server.url, userAgent: "t", timeouts: DEFAULT_TIMEOUTS, now: clock.now },
    );
    const retried: boolean[] = [];
    let mostLive = 0;
    // A job refused on every poll, every 30 s for 10 minutes: each 401 may retry once.
    for (let i = 0; i < 20; i++) {
      const used = await auth.headers();
      mostLive = Math.max(mostLive, live.size);
      const retry = auth.unauthorized(used);
      retried.push(retry);
      if (retry) await auth.headers();
      mostLive = Math.max(mostLive, live.size);
      clock.advance(30_000);
    }
    expect(retried).toEqual(Array.from({ length: 20 }, (_, i) => i % 2 === 0 && i > 0));
    expect(server.tokenRequests()).toBe(10);
    expect(mostLive).toBeLessThanOrEqual(2);
    await auth.close();
    expect(live.size).toBe(0);
  });

  it("authenticates an API key through the Digest interceptor on its dispatcher", async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      const params = parseDigestAuthorization(req.headers.authorization);
      seen.push(params?.get("username"));
      if (params) {
        res.end("ok");
        return;
      }
      res.writeHead(401, {
        "www-authenticate": 'Digest realm="MMS Public API", nonce="n1", algorithm=MD5, qop="auth"',
      });
      res.end();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const agent = new Agent();
    cleanups.push(
      async () => {
        server.closeAllConnections();
        server.close();
        await once(server, "close");
      },
      () => agent.close(),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
    const auth = createAuthenticator(
      { kind: "apiKey", publicKey: "pub", privateKey: "priv" },
      { agent, baseUrl: url, userAgent: "t", timeouts: DEFAULT_TIMEOUTS },
    );
    expect(await auth.headers()).toEqual({});
    expect(auth.unauthorized({})).toBe(false);
    const response = await request(url, { dispatcher: auth.dispatcher });
    expect(await response.body.text()).toBe("ok");
    expect(seen).toEqual([undefined, "pub"]);
    await auth.close();
  });
});

describe("a token's freshness", () => {
  it("lasts a minute, or a quarter of a shorter-lived token's life", async () => {
    const long = await setup((_r, n) => tokenReply(n, 3600));
    const token = await long.tokens.getToken();
    long.clock.advance(FRESH_TOKEN_MS - 1);
    expect(long.tokens.isFresh(token)).toBe(true);
    long.clock.advance(1);
    expect(long.tokens.isFresh(token)).toBe(false);
    const short = await setup((_r, n) => tokenReply(n, 20));
    const brief = await short.tokens.getToken();
    short.clock.advance(4_999);
    expect(short.tokens.isFresh(brief)).toBe(true);
    short.clock.advance(1);
    expect(short.tokens.isFresh(brief)).toBe(false);
    expect(short.tokens.isFresh("not-a-token-it-holds")).toBe(false);
  });
});
