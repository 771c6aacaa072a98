import { once } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { Agent, request, type Dispatcher } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import {
  digestAlgorithm,
  digestResponse,
  formatDigestAuthorization,
  parseDigestAuthorization,
  type DigestAlgorithm,
} from "../../src/atlas/digest.js";
import { digestAuth } from "../../src/atlas/digest-interceptor.js";

const USER = "pubkey";
const PASSWORD = "private-key-9f8e7d";
const REALM = "MMS Public API";

/** One request as the server saw it. */
interface Hit {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly body: string;
  /** How the server judged the credentials. */
  readonly verdict: "ok" | "unsigned" | "bad" | "stale" | "replay";
  readonly nc: string | undefined;
  readonly nonce: string | undefined;
}

interface DigestServerOptions {
  readonly algorithm?: DigestAlgorithm;
  readonly opaque?: string;
  /** Called before verification; returning true means the handler answered itself. */
  readonly intercept?: (req: IncomingMessage, res: ServerResponse, hit: number) => boolean;
}

/**
 * A Digest server in the image of Atlas: one current nonce, older nonces answered with
 * stale=true when the credentials were right, replayed nc values refused.
 */
async function startDigestServer(options: DigestServerOptions = {}) {
  const algorithm = options.algorithm ?? "MD5";
  const hits: Hit[] = [];
  let generation = 1;
  let nonce = `nonce-${generation}`;
  const oldNonces = new Set<string>();
  const seen = new Map<string, Set<string>>();

  const challenge = (stale: boolean): string =>
    `Digest realm="${REALM}", domain="", nonce="${nonce}", algorithm=${algorithm}, qop="auth", ` +
    `stale=${stale}${options.opaque !== undefined ? `, opaque="${options.opaque}"` : ""}`;

  const verdictOf = (req: IncomingMessage): Omit<Hit, "method" | "url" | "body"> => {
    const authorization = req.headers.authorization;
    const params = parseDigestAuthorization(authorization);
    const base = { authorization, nc: params?.get("nc"), nonce: params?.get("nonce") };
    if (!params) return { ...base, verdict: "unsigned" };
    const alg = digestAlgorithm(params.get("algorithm"));
    const sentNonce = params.get("nonce") ?? "";
    const nc = params.get("nc") ?? "";
    const cnonce = params.get("cnonce") ?? "";
    if (
      alg !== algorithm ||
      params.get("username") !== USER ||
      params.get("realm") !== REALM ||
      params.get("uri") !== req.url ||
      params.get("qop") !== "auth" ||
      params.get("opaque") !== options.opaque ||
      !/^[0-9a-f]{8}$/.test(nc)
    ) {
      return { ...base, verdict: "bad" };
    }
    const expected = digestResponse({
      algorithm,
      username: USER,
      password: PASSWORD,
      realm: REALM,
      method: req.method ?? "",
      uri: req.url ?? "",
      nonce: sentNonce,
      nc,
      cnonce,
      qop: "auth",
    });
    if (params.get("response") !== expected) return { ...base, verdict: "bad" };
    if (oldNonces.has(sentNonce)) return { ...base, verdict: "stale" };
    if (sentNonce !== nonce) return { ...base, verdict: "bad" };
    const used = seen.get(sentNonce) ?? new Set<string>();
    seen.set(sentNonce, used);
    if (used.has(nc)) return { ...base, verdict: "replay" };
    used.add(nc);
    return { ...base, verdict: "ok" };
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const judged = verdictOf(req);
      hits.push({ method: req.method ?? "", url: req.url ?? "", body, ...judged });
      if (options.intercept?.(req, res, hits.length)) return;
      if (judged.verdict === "ok") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ url: req.url, body }));
        return;
      }
      res.writeHead(401, {
        "content-type": "application/json",
        "www-authenticate": challenge(judged.verdict === "stale"),
      });
      res.end(
        JSON.stringify({
          error: 401,
          reason: "Unauthorized",
          detail: "You are not authorized for this resource.",
          errorCode: "UNEXPECTED_ERROR",
        }),
      );
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    get nonce() {
      return nonce;
    },
    /** Expires the current nonce: requests signed with it now get stale=true. */
    rotateNonce() {
      oldNonces.add(nonce);
      generation += 1;
      nonce = `nonce-${generation}`;
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, "close");
    },
  };
}

type DigestServer = Awaited<ReturnType<typeof startDigestServer>>;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  options: DigestServerOptions = {},
  credentials = { username: USER, password: PASSWORD },
  cnonce?: () => string,
): Promise<{ server: DigestServer; dispatcher: Dispatcher }> {
  const server = await startDigestServer(options);
  const agent = new Agent();
  cleanups.push(
    () => server.close(),
    () => agent.close(),
  );
  const dispatcher = agent.compose(digestAuth(credentials, cnonce ? { cnonce } : {}));
  return { server, dispatcher };
}

async function get(
  dispatcher: Dispatcher,
  url: string,
  extra: Partial<Dispatcher.RequestOptions> = {},
): Promise<{ status: number; body: string }> {
  const response = await request(url, { dispatcher, ...extra });
  return { status: response.statusCode, body: await response.body.text() };
}

describe("digestAuth interceptor", () => {
  it("answers the first challenge, then signs every request up front: one hit each", async () => {
    const { server, dispatcher } = await setup();
    const path = "/api/atlas/v2/groups/g/flexClusters/c/backup/restoreJobs/j";

    expect(await get(dispatcher, server.url + path)).toEqual({
      status: 200,
      body: JSON.stringify({ url: path, body: "" }),
    });
    expect(server.hits.map((h) => h.verdict)).toEqual(["unsigned", "ok"]);

    for (let i = 0; i < 100; i++) {
      expect((await get(dispatcher, server.url + path)).status).toBe(200);
    }
    expect(server.hits).toHaveLength(102);
    expect(server.hits.slice(1).every((h) => h.verdict === "ok")).toBe(true);
    expect(server.hits.slice(1).map((h) => h.nonce)).toEqual(Array(101).fill("nonce-1"));
    expect(server.hits.slice(1).map((h) => h.nc)).toEqual(
      Array.from({ length: 101 }, (_, i) => (i + 1).toString(16).padStart(8, "0")),
    );
  });

  it("sends exactly the header formatDigestAuthorization builds, cnonce from the option", async () => {
    let n = 0;
    const { server, dispatcher } = await setup({ opaque: "op aque" }, undefined, () => `cn${++n}`);
    await get(dispatcher, `${server.url}/a?b=c`);
    await get(dispatcher, `${server.url}/a?b=c`);
    const expected = (nc: string, cnonce: string): string =>
      formatDigestAuthorization(
        {
          algorithm: "MD5",
          username: USER,
          password: PASSWORD,
          realm: REALM,
          method: "GET",
          uri: "/a?b=c",
          nonce: "nonce-1",
          nc,
          cnonce,
          qop: "auth",
        },
        "op aque",
      );
    expect(server.hits.map((h) => h.authorization)).toEqual([
      undefined,
      expected("00000001", "cn1"),
      expected("00000002", "cn2"),
    ]);
  });

  it("signs the query as sent, whether in the path or in undici's query option", async () => {
    const { server, dispatcher } = await setup();
    await get(dispatcher, `${server.url}/jobs?pageNum=2&itemsPerPage=500`);
    await get(dispatcher, `${server.url}/jobs`, { query: { pageNum: 3, includeCount: true } });
    expect(server.hits.map((h) => [h.url, h.verdict])).toEqual([
      ["/jobs?pageNum=2&itemsPerPage=500", "unsigned"],
      ["/jobs?pageNum=2&itemsPerPage=500", "ok"],
      ["/jobs?pageNum=3&includeCount=true", "ok"],
    ]);
  });

  it("answers a stale nonce once, then carries on with the new one", async () => {
    const { server, dispatcher } = await setup();
    await get(dispatcher, `${server.url}/x`);
    server.rotateNonce();

    expect((await get(dispatcher, `${server.url}/x`)).status).toBe(200);
    expect((await get(dispatcher, `${server.url}/x`)).status).toBe(200);
    expect(server.hits.map((h) => [h.verdict, h.nonce, h.nc])).toEqual([
      ["unsigned", undefined, undefined],
      ["ok", "nonce-1", "00000001"],
      ["stale", "nonce-1", "00000002"],
      ["ok", "nonce-2", "00000001"],
      ["ok", "nonce-2", "00000002"],
    ]);
  });

  it("gives a wrong password's 401 to the caller after exactly two hits, and never loops", async () => {
    const { server, dispatcher } = await setup({}, { username: USER, password: "wrong" });
    const first = await get(dispatcher, `${server.url}/x`);
    expect(first.status).toBe(401);
    expect(JSON.parse(first.body)).toMatchObject({ errorCode: "UNEXPECTED_ERROR" });
    expect(server.hits.map((h) => h.verdict)).toEqual(["unsigned", "bad"]);

    // The nonce is now known: the next request is signed up front and rejected once.
    expect((await get(dispatcher, `${server.url}/x`)).status).toBe(401);
    expect(server.hits.map((h) => h.verdict)).toEqual(["unsigned", "bad", "bad"]);
  });

  it("retries at most once even when every answer is a fresh challenge", async () => {
    const { server, dispatcher } = await setup({
      intercept: (_req, res, hit) => {
        res.writeHead(401, {
          "www-authenticate": `Digest realm="${REALM}", nonce="fresh-${hit}", qop="auth"`,
        });
        res.end();
        return true;
      },
    });
    expect((await get(dispatcher, `${server.url}/x`)).status).toBe(401);
    expect(server.hits).toHaveLength(2);
  });

  it("speaks SHA-256 when challenged with it", async () => {
    const { server, dispatcher } = await setup({ algorithm: "SHA-256" });
    expect((await get(dispatcher, `${server.url}/x`)).status).toBe(200);
    expect((await get(dispatcher, `${server.url}/x`)).status).toBe(200);
    expect(server.hits.map((h) => h.verdict)).toEqual(["unsigned", "ok", "ok"]);
    expect(server.hits[1]?.authorization).toMatch(/algorithm=SHA-256/);
  });

  it("shares the nonce between concurrent requests with distinct, increasing counts", async () => {
    const { server, dispatcher } = await setup();
    await get(dispatcher, `${server.url}/warm`);

    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => get(dispatcher, `${server.url}/job/${i}`)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(server.hits).toHaveLength(22);
    const counts = server.hits.slice(2).map((h) => parseInt(h.nc ?? "", 16));
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
  });

  it("answers one challenge for concurrent cold requests (a single flight), replaying no count", async () => {
    const { server, dispatcher } = await setup();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => get(dispatcher, `${server.url}/job/${i}`)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(server.hits.filter((h) => h.verdict === "unsigned")).toHaveLength(1);
    expect(server.hits.filter((h) => h.verdict === "ok")).toHaveLength(10);
    expect(server.hits).toHaveLength(11);
    const counts = server.hits.slice(1).map((h) => parseInt(h.nc ?? "", 16));
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it("replays a string body after the challenge", async () => {
    const { server, dispatcher } = await setup();
    const response = await get(dispatcher, `${server.url}/form`, {
      method: "POST",
      body: "a=1&b=2",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expect(response).toEqual({
      status: 200,
      body: JSON.stringify({ url: "/form", body: "a=1&b=2" }),
    });
    expect(server.hits.map((h) => [h.method, h.body, h.verdict])).toEqual([
      ["POST", "a=1&b=2", "unsigned"],
      ["POST", "a=1&b=2", "ok"],
    ]);
  });

  it("passes a stream body through untouched", async () => {
    const { server, dispatcher } = await setup();
    await get(dispatcher, `${server.url}/warm`);
    const response = await get(dispatcher, `${server.url}/upload`, {
      method: "POST",
      body: Readable.from([Buffer.from("streamed")]),
    });
    expect(response.status).toBe(401);
    expect(server.hits.map((h) => [h.url, h.body, h.verdict])).toEqual([
      ["/warm", "", "unsigned"],
      ["/warm", "", "ok"],
      ["/upload", "streamed", "unsigned"],
    ]);
  });

  it("passes a 401 without a Digest challenge through after one hit", async () => {
    const { server, dispatcher } = await setup({
      intercept: (_req, res) => {
        res.writeHead(401, { "www-authenticate": 'Bearer realm="x"' });
        res.end("no");
        return true;
      },
    });
    expect(await get(dispatcher, `${server.url}/x`)).toEqual({ status: 401, body: "no" });
    expect(server.hits).toHaveLength(1);
  });

  it("honours an abort that arrives while the signed retry is in flight", async () => {
    const controller = new AbortController();
    const { server, dispatcher } = await setup({
      intercept: (_req, _res, hit) => {
        if (hit !== 2) return false;
        controller.abort(new Error("caller gave up"));
        return true; // never answers
      },
    });
    await expect(get(dispatcher, `${server.url}/x`, { signal: controller.signal })).rejects.toThrow(
      "caller gave up",
    );
    expect(server.hits.map((h) => h.verdict)).toEqual(["unsigned", "ok"]);
  });

  it("keeps the password and the Authorization value out of errors", async () => {
    const { server, dispatcher } = await setup({
      intercept: (req, res, hit) => {
        if (hit !== 3) return false;
        req.socket.destroy();
        res.destroy();
        return true;
      },
    });
    await get(dispatcher, `${server.url}/x`);
    const error: unknown = await get(dispatcher, `${server.url}/x`).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    const texts: string[] = [];
    for (let e: unknown = error; e instanceof Error; e = e.cause) {
      texts.push(e.message, e.stack ?? "", JSON.stringify(e));
    }
    const all = texts.join("\n");
    expect(all).not.toContain(PASSWORD);
    expect(all).not.toContain("Digest");
    expect(all).not.toContain(server.hits[2]?.authorization ?? "unreachable");
  });
});
