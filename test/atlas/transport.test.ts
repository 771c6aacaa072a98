import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { Agent } from "undici";
import {
  DEFAULT_TIMEOUTS,
  send,
  type RequestObservation,
  type SendRequest,
  type TransportOptions,
} from "../../src/atlas/transport.js";
import { waitFor } from "../support/fixtures.js";

// The HTTP edge on its own, against a plain server on 127.0.0.1: what it does with the bytes of
// an answer and with an abort does not depend on Atlas.

let server: Server | undefined;
let agent: Agent | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  if (server?.listening) server.close();
  await agent?.close();
  server = undefined;
  agent = undefined;
});

interface Seen {
  readonly requests: IncomingMessage[];
  /** Requests whose connection closed before an answer. */
  closedUnanswered: number;
}

async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<{
  options: TransportOptions;
  seen: Seen;
  observed: RequestObservation[];
}> {
  const seen: Seen = { requests: [], closedUnanswered: 0 };
  server = createServer((req, res) => {
    seen.requests.push(req);
    res.on("close", () => {
      if (!res.writableFinished) seen.closedUnanswered++;
    });
    handle(req, res);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  agent = new Agent();
  const observed: RequestObservation[] = [];
  return {
    options: {
      baseUrl: `http://127.0.0.1:${port}/ignored/prefix`,
      dispatcher: agent,
      userAgent: "transport-test/1",
      timeouts: DEFAULT_TIMEOUTS,
      observer: (observation) => observed.push(observation),
    },
    seen,
    observed,
  };
}

function get(path: string, extra: Partial<SendRequest> = {}): SendRequest {
  return {
    method: "GET",
    path,
    headers: { accept: "application/json" },
    api: "flex",
    operation: "test read",
    groupId: "g1",
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("send", () => {
  it("sends the path, query and headers, and joins a body split inside a character", async () => {
    const { options, seen, observed } = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "x-extra": "yes" });
      // "é" is 0xC3 0xA9: its bytes arrive in two chunks.
      const body = Buffer.from('{"name":"café"}');
      const cut = body.indexOf(0xa9);
      res.write(body.subarray(0, cut), () => setTimeout(() => res.end(body.subarray(cut)), 20));
    });
    const response = await send(options, get("/a/b", { query: { pageNum: "2", q: "x y&z" } }));
    expect(response).toEqual({
      status: 200,
      headers: expect.objectContaining({ "x-extra": "yes" }) as unknown,
      body: '{"name":"café"}',
    });
    expect(seen.requests.map((r) => r.url)).toEqual(["/a/b?pageNum=2&q=x+y%26z"]);
    expect(seen.requests[0]?.headers["user-agent"]).toBe("transport-test/1");
    expect(seen.requests[0]?.headers["accept"]).toBe("application/json");
    expect(observed.map((o) => [o.api, o.code, o.groupId])).toEqual([["flex", "200", "g1"]]);
  });

  it("drops a byte order mark, as a text decoder does", async () => {
    const { options } = await serve((_req, res) => {
      res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("{}")]));
    });
    expect((await send(options, get("/bom"))).body).toBe("{}");
  });

  it("reads an empty body as the empty string", async () => {
    const { options } = await serve((_req, res) => {
      res.writeHead(204).end();
    });
    expect(await send(options, get("/empty"))).toMatchObject({ status: 204, body: "" });
  });

  it("ends a request waiting for its answer when the signal aborts, with the signal's reason", async () => {
    const { options, seen, observed } = await serve(() => undefined);
    const controller = new AbortController();
    const pending = send(options, get("/hang", { signal: controller.signal }));
    await waitFor(() => seen.requests.length === 1, "the request reached the server", 10_000);
    const reason = new Error("shutting down");
    controller.abort(reason);
    expect(await rejection(pending)).toBe(reason);
    expect(observed.map((o) => o.code)).toEqual(["aborted"]);
    await waitFor(() => seen.closedUnanswered === 1, "the connection closed", 10_000);
  });

  it("sends nothing under a signal already aborted", async () => {
    const { options, seen, observed } = await serve((_req, res) => res.end("{}"));
    const reason = new Error("too late");
    const error = await rejection(
      send(options, get("/never", { signal: AbortSignal.abort(reason) })),
    );
    expect(error).toBe(reason);
    expect(observed.map((o) => o.code)).toEqual(["aborted"]);
    // A request after it goes through the same agent and is the first the server sees.
    await send(options, get("/after"));
    expect(seen.requests.map((r) => r.url)).toEqual(["/after"]);
  });

  it("aborts requests started under a signal after others under it ended", async () => {
    const { options, seen } = await serve((req, res) => {
      if (req.url?.startsWith("/quick")) res.end("{}");
    });
    const cycle = new AbortController();
    // Requests that end free their places under the signal; later ones take them.
    const first = rejection(send(options, get("/hang/0", { signal: cycle.signal })));
    for (let i = 0; i < 3; i++) {
      const quick = await Promise.all([
        send(options, get(`/quick/${i}/a`, { signal: cycle.signal })),
        send(options, get(`/quick/${i}/b`, { signal: cycle.signal })),
      ]);
      expect(quick.map((r) => r.status)).toEqual([200, 200]);
    }
    const later = Array.from({ length: 3 }, (_, i) =>
      rejection(send(options, get(`/hang/${i + 1}`, { signal: cycle.signal }))),
    );
    await waitFor(() => seen.requests.length === 10, "every request reached the server", 10_000);
    const reason = new Error("cycle over");
    cycle.abort(reason);
    expect(await Promise.all([first, ...later])).toEqual(Array.from({ length: 4 }, () => reason));
    await waitFor(() => seen.closedUnanswered === 4, "four connections closed", 10_000);
  });

  it("aborts every request under one signal, and only those", async () => {
    const { options, seen } = await serve((req, res) => {
      if (req.url === "/quick") res.end("{}");
    });
    const cycle = new AbortController();
    const other = new AbortController();
    const under = Array.from({ length: 5 }, (_, i) =>
      rejection(send(options, get(`/hang/${i}`, { signal: cycle.signal }))),
    );
    // One finished exchange under the same signal, which must not be touched by the abort.
    expect((await send(options, get("/quick", { signal: cycle.signal }))).status).toBe(200);
    const outside = send(options, get("/hang/other", { signal: other.signal }));
    await waitFor(() => seen.requests.length === 7, "every request reached the server", 10_000);
    const reason = new Error("cycle over");
    cycle.abort(reason);
    expect(await Promise.all(under)).toEqual(Array.from({ length: 5 }, () => reason));
    await waitFor(() => seen.closedUnanswered === 5, "five connections closed", 10_000);
    // The request under the other signal is still waiting for its answer.
    const settled = await Promise.race([outside.then(() => "settled"), Promise.resolve("open")]);
    expect(settled).toBe("open");
    other.abort(new Error("done"));
    await rejection(outside);
  });
});
